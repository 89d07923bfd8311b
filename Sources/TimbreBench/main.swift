import TimbreCore
import COpenBLAS
import Foundation
import TimbreNN

// Measures the neural-network engine on this machine and prints JSON lines that
// bench/bench_nn.py puts side by side with Keras:
//   sgemm peak, convolution layers' GFLOP/s, training and inference clips/s.
//   With --inference-only: only inference, with each fused block's milliseconds.
//   Inference also reports CPU milliseconds per clip, for comparing builds on a busy machine.
// Usage: timbre-bench [--classes 13] [--batch 32] [--seconds 20] [--inference-only]

BLASCore.runAgainIfFallenBack()

func argument(_ name: String, default value: Int) -> Int {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count else { return value }
    return Int(CommandLine.arguments[index + 1]) ?? value
}

let classes = argument("--classes", default: 13)
let batch = argument("--batch", default: 32)
let budget = Double(argument("--seconds", default: 20))
let inferenceOnly = CommandLine.arguments.contains("--inference-only")

func time(_ body: () -> Void) -> Double {
    let start = Date()
    body()
    return Date().timeIntervalSince(start)
}

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

if !inferenceOnly {
    // 1. sgemm peak on both cores (OpenBLAS threads) and on one.
    for threads in [2, 1] {
        openblas_set_num_threads(Int32(threads))
        let n = 2048
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        var reps = 0
        let seconds = time { while reps < 20 { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n)); reps += 1 } }
        emit(["what": "sgemm_peak", "threads": threads, "gflops": 2 * Double(n * n * n) * Double(reps) / seconds / 1e9])
    }
}

// The engine parallelises over batch items itself.
openblas_set_num_threads(1)
MemoryPolicy.reuseLargeAllocations()

let architecture = Architecture.instrumentCNN(classes: classes)
let model = Sequential(architecture)
model.initialize(seed: 1)
let optimizer = Adam(parameterCount: model.parameters.count)
var generator = SeededGenerator(seed: 2)
let input = Tensor(shape: [batch] + architecture.inputShape, data: (0..<(batch * 128 * 130)).map { _ in generator.nextUnit() * 80 - 80 })
let targets = (0..<batch).map { $0 % classes }

if !inferenceOnly {
    // 2. Convolution layers alone: forward and backward FLOPs over their time.
    var convFlops = 0.0, convSeconds = 0.0
    var activations = model.layers[0].forward(input, context: ForwardContext(training: true))
    for (index, layer) in model.layers.enumerated().dropFirst() {
        if let conv = layer as? Conv2D {
            let pixels = Double(activations.shape[2] * activations.shape[3])
            let flops = 2 * Double(conv.filters * conv.inChannels * conv.kernel * conv.kernel) * pixels * Double(batch)
            var output = Tensor(zeros: [0])
            let forwardTime = time { output = conv.forward(activations, context: ForwardContext(training: true)) }
            let backwardTime = time { _ = conv.backward(output) }
            // Backward: weight gradient always, input gradient except for the first convolution.
            let backwardFlops = flops * (conv.computesInputGradient ? 2 : 1)
            convFlops += flops + backwardFlops
            convSeconds += forwardTime + backwardTime
            emit(["what": "conv_layer", "layer": index, "input": activations.shape, "forward_gflops": flops / forwardTime / 1e9, "backward_gflops": backwardFlops / backwardTime / 1e9])
            activations = output
        } else {
            activations = layer.forward(activations, context: ForwardContext(training: true))
        }
    }
    emit(["what": "conv_total", "gflops": convFlops / convSeconds / 1e9])

    // Where a training step spends its time: every layer's forward and backward in steady
    // state (the fastest of three runs), in milliseconds per batch.
    var forwardMs = [Double](repeating: .infinity, count: model.layers.count)
    var backwardMs = forwardMs
    for run in 0..<3 {
        var values = input
        let context = ForwardContext(training: true, seed: 1, step: UInt64(run))
        for (index, layer) in model.layers.enumerated() {
            forwardMs[index] = min(forwardMs[index], 1000 * time { values = layer.forward(values, context: context) })
        }
        var gradient = SoftmaxCrossEntropy.evaluate(logits: values, targets: targets, weights: nil).gradient
        // Training stops at the first convolution (the input needs no gradient).
        for index in model.layers.indices.reversed() where index > 0 {
            backwardMs[index] = min(backwardMs[index], 1000 * time { gradient = model.layers[index].backward(gradient) })
        }
    }
    for (index, layer) in model.layers.enumerated() {
        emit(["what": "layer_time", "layer": index, "kind": String(describing: type(of: layer)), "forward_ms": forwardMs[index], "backward_ms": backwardMs[index].isFinite ? backwardMs[index] : 0])
    }
}

// 3. Training and inference throughput at this batch size.
if !inferenceOnly {
    var steps = 0
    _ = model.trainStep(input, targets: targets, optimizer: optimizer, seed: 1, step: 0)
    let trainSeconds = time {
        let start = Date()
        while steps < 3 || Date().timeIntervalSince(start) < budget / 2 {
            _ = model.trainStep(input, targets: targets, optimizer: optimizer, seed: 1, step: UInt64(steps))
            steps += 1
        }
    }
    emit(["what": "train", "batch": batch, "clips_per_second": Double(steps * batch) / trainSeconds])
}
/// CPU seconds this process has used on all its threads: steadier than wall time when
/// the machine's other tenants take cycles, for comparing two builds.
func processorSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

var inferences = 0
let inferStartCPU = processorSeconds()
let inferSeconds = time {
    let start = Date()
    while inferences < 3 || Date().timeIntervalSince(start) < budget / 2 {
        _ = model.predict(input)
        inferences += 1
    }
}
emit(["what": "infer", "batch": batch, "clips_per_second": Double(inferences * batch) / inferSeconds,
      "cpu_ms_per_clip": 1000 * (processorSeconds() - inferStartCPU) / Double(inferences * batch)])

// Where inference spends its time: each fused conv → ReLU → pool block and every other
// layer, fastest of three runs, in milliseconds per batch.
if inferenceOnly {
    var fastest = [String: Double]()
    var order = [String]()
    for _ in 0..<3 {
        var values = input, index = 0
        let context = ForwardContext(training: false)
        while index < model.layers.count {
            var name = "\(index) \(String(describing: type(of: model.layers[index])))"
            var elapsed = 0.0
            if let conv = model.layers[index] as? Conv2D, index + 2 < model.layers.count, model.layers[index + 2] is MaxPool2D {
                name += " + ReLU + MaxPool2D, input \(values.shape.dropFirst().map(String.init).joined(separator: "x"))"
                var pooled: Tensor?
                elapsed = time { pooled = conv.forwardPooled(values) }
                if let pooled { values = pooled; index += 3 } else { index += 1 }
            } else {
                let layer = model.layers[index]
                elapsed = time { values = layer.forward(values, context: context) }
                index += 1
            }
            if fastest[name] == nil { order.append(name) }
            fastest[name] = min(fastest[name] ?? .infinity, 1000 * elapsed)
        }
    }
    for name in order { emit(["what": "inference_time", "step": name, "ms": fastest[name]!]) }
}
