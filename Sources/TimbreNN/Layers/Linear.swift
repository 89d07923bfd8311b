import COpenBLAS
import TimbreCore

/// Fully connected layer: y = x · W + b, with W stored [inputs, outputs] (Keras's layout).
public final class Dense: Layer {
    public let inputs: Int
    public let outputs: Int
    let weight: ParameterStore.Slice
    let bias: ParameterStore.Slice
    private let store: ParameterStore
    private var input: Tensor?

    public init(inputs: Int, outputs: Int, store: ParameterStore, name: String) {
        self.inputs = inputs
        self.outputs = outputs
        self.store = store
        weight = store.add("\(name)/kernel", shape: [inputs, outputs])
        bias = store.add("\(name)/bias", shape: [outputs])
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == inputs, "Dense expects \(inputs) inputs, got \(inputShape)")
        return [outputs]
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        let n = input.batch
        self.input = input
        var output = Tensor(zeros: [n, outputs])
        let b = store.values(bias)
        output.data.withUnsafeMutableBufferPointer { y in
            for item in 0..<n { (y.baseAddress! + item * outputs).update(from: b, count: outputs) }
            input.data.withUnsafeBufferPointer { x in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(outputs), Int32(inputs),
                            1, x.baseAddress, Int32(inputs), store.values(weight), Int32(outputs), 1, y.baseAddress, Int32(outputs))
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("backward before forward") }
        let n = input.batch
        var inputGradient = Tensor(zeros: input.shape)
        input.data.withUnsafeBufferPointer { x in
            outputGradient.data.withUnsafeBufferPointer { dy in
                // dW += xᵀ · dy
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(inputs), Int32(outputs), Int32(n),
                            1, x.baseAddress, Int32(inputs), dy.baseAddress, Int32(outputs), 1, store.gradients(weight), Int32(outputs))
                let db = store.gradients(bias)
                for item in 0..<n { for o in 0..<outputs { db[o] += dy[item * outputs + o] } }
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    // dx = dy · Wᵀ
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(inputs), Int32(outputs),
                                1, dy.baseAddress, Int32(outputs), store.values(weight), Int32(outputs), 0, dx.baseAddress, Int32(inputs))
                }
            }
        }
        return inputGradient
    }
}

/// Collapses each item to a vector (a view; no copy of the values' order).
public final class Flatten: Layer {
    private var inputShape: [Int] = []

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { [inputShape.reduce(1, *)] }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        inputShape = input.shape
        return input.reshaped([input.batch, input.itemSize])
    }

    public func backward(_ outputGradient: Tensor) -> Tensor { outputGradient.reshaped(inputShape) }
}

/// The same values under another per-item shape with as many elements (e.g. a [C, T, 1]
/// feature map as one [1, C·T] row for a dense bottleneck, and back).
public final class Reshape: Layer {
    public let shape: [Int]
    private var inputShape: [Int] = []

    public init(_ shape: [Int]) { self.shape = shape }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.reduce(1, *) == shape.reduce(1, *), "cannot reshape \(inputShape) to \(shape)")
        return shape
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        inputShape = input.shape
        return input.reshaped([input.batch] + shape)
    }

    public func backward(_ outputGradient: Tensor) -> Tensor { outputGradient.reshaped(inputShape) }
}

/// A dense layer applied to the last axis of any shape ([T, D] → [T, units]): every row
/// of the leading axes goes through the same weights.
public final class DenseOverLastAxis: Layer, ParameterInitializing {
    public let inputs: Int, outputs: Int
    private let dense: Dense
    private let store: ParameterStore
    private var inputShape: [Int] = []

    public init(inputs: Int, outputs: Int, store: ParameterStore, name: String) {
        self.inputs = inputs
        self.outputs = outputs
        self.store = store
        dense = Dense(inputs: inputs, outputs: outputs, store: store, name: name)
    }

    public func initializeParameters(using generator: inout SeededGenerator) {
        Initializers.glorotUniform(store.values(dense.weight), count: dense.weight.count, fanIn: inputs, fanOut: outputs, generator: &generator)
        store.values(dense.bias).update(repeating: 0, count: outputs)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.last == inputs, "DenseOverLastAxis expects \(inputs) features last, got \(inputShape)")
        return Array(inputShape.dropLast()) + [outputs]
    }

    public func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        inputShape = input.shape
        let rows = input.count / inputs
        let output = dense.forward(input.reshaped([rows, inputs]), context: context)
        return output.reshaped(Array(input.shape.dropLast()) + [outputs])
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        let rows = outputGradient.count / outputs
        return dense.backward(outputGradient.reshaped([rows, outputs])).reshaped(inputShape)
    }
}
