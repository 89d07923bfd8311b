import Dispatch
import Foundation
import TimbreConsole

/// Turns the first Ctrl-C (or SIGTERM) into a graceful stop and the second into an
/// immediate exit. Work that is recorded atomically loses nothing either way.
final class InterruptHandler {
    private var sources: [DispatchSourceSignal] = []

    init(message: String = "stopping after the files in progress (Ctrl-C again to quit now); run the same command to resume", onInterrupt: @escaping @Sendable () -> Void) {
        let count = Counter()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if count.increment() == 1 {
                    Terminal.printError("\ntimbre: \(message)")
                    onInterrupt()
                } else {
                    exit(130)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}
