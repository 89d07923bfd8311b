/// The two operations every training and evaluation loop is made of.
public extension Sequential {
    /// One optimisation step on a batch: forward (training mode), fused softmax
    /// cross-entropy, backward, Adam update. Returns the batch's mean loss and its
    /// softmax probabilities.
    func trainStep(_ batch: Tensor, targets: [Int], weights: [Float]? = nil, optimizer: Adam, seed: UInt64, step: UInt64) -> SoftmaxCrossEntropy.Result {
        parameters.zeroGradients()
        let logits = forward(batch, context: ForwardContext(training: true, seed: seed, step: step))
        let result = SoftmaxCrossEntropy.evaluate(logits: logits, targets: targets, weights: weights)
        backward(result.gradient)
        optimizer.update(parameters)
        return result
    }

    /// One optimisation step against [N, classes] targets with the architecture's own
    /// output and loss (softmax: each row a distribution over the classes present;
    /// sigmoid: multi-hot rows, binary cross-entropy).
    ///
    /// For a batch split across processes, `batch` is this process's share starting at
    /// item `itemOffset`, and `combineGradients` turns the share's gradient (already
    /// computed) into the whole batch's before the update.
    func trainStep(_ batch: Tensor, targetRows: Tensor, weights: [Float]? = nil, optimizer: Adam, seed: UInt64, step: UInt64,
                   itemOffset: Int = 0, combineGradients: ((ParameterStore) -> Void)? = nil) -> SoftmaxCrossEntropy.Result {
        parameters.zeroGradients()
        let logits = forward(batch, context: ForwardContext(training: true, seed: seed, step: step, itemOffset: itemOffset))
        let result = architecture.output.loss(logits: logits, targets: targetRows, weights: weights)
        backward(result.gradient)
        combineGradients?(parameters)
        optimizer.update(parameters)
        return result
    }

    /// Class probabilities for a batch, with dropout off: softmax or independent sigmoids,
    /// as the architecture says.
    func predict(_ batch: Tensor) -> Tensor {
        architecture.probabilities(forward(batch, context: ForwardContext(training: false)))
    }
}
