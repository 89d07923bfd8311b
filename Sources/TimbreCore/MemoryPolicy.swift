import CMalloc

/// Process-wide allocation policy for training and inference.
public enum MemoryPolicy {
    /// Keeps large freed blocks (activations of a batch, hundreds of megabytes) in the heap
    /// for the next batch instead of returning them to the kernel: otherwise glibc maps
    /// each one afresh and every batch pays for page faults and zeroed pages.
    public static func reuseLargeAllocations() {
        timbre_keep_large_allocations()
    }
}
