/// One differentiable stage of a network.
///
/// `forward` maps a batch to a batch and remembers what `backward` needs; `backward`
/// takes the loss gradient with respect to the output, adds the parameter gradients into
/// the model's `ParameterStore`, and returns the gradient with respect to the input.
/// Shapes are per batch item (C, H, W or features); the batch is the first dimension.
public protocol Layer: AnyObject {
    /// Output shape (without batch) for an input shape (without batch).
    func outputShape(for inputShape: [Int]) -> [Int]
    func forward(_ input: Tensor, context: ForwardContext) -> Tensor
    func backward(_ outputGradient: Tensor) -> Tensor
}

/// What a forward pass needs to know besides its input.
public struct ForwardContext: Sendable {
    /// Dropout is active only while training.
    public var training: Bool
    /// Seeds dropout masks: one stream per step, one sub-stream per batch item.
    public var seed: UInt64
    public var step: UInt64
    /// Index of this batch's first item within the whole batch, when the batch is split
    /// across processes: masks follow the item, not the process that computes it.
    public var itemOffset: Int

    public init(training: Bool, seed: UInt64 = 0, step: UInt64 = 0, itemOffset: Int = 0) {
        self.training = training
        self.seed = seed
        self.step = step
        self.itemOffset = itemOffset
    }
}
