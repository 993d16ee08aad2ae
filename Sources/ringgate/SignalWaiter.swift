#if canImport(Glibc)
import Glibc
#endif

/// Blocks the main thread until SIGINT or SIGTERM, optionally calling
/// `report` every `statsEvery` seconds meanwhile and `reload` on each SIGHUP.
/// The signals are blocked in every thread (workers inherit the mask) and
/// taken here with sigtimedwait, so no handler runs on a worker.
enum SignalWaiter {
    static func blockTerminationSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    static func waitForTermination(statsEvery: Double, report: () -> Void, reload: () -> Void = {}) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGHUP)
        let period = statsEvery > 0 ? statsEvery : 3600
        var timeout = timespec(tv_sec: Int(period), tv_nsec: Int((period - period.rounded(.down)) * 1e9))
        while true {
            let signal = sigtimedwait(&set, nil, &timeout)
            if signal == SIGINT || signal == SIGTERM { return }
            if signal == SIGHUP { reload() }
            if signal < 0 && errno == EAGAIN && statsEvery > 0 { report() }
        }
    }
}
