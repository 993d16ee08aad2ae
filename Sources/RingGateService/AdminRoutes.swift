public import RingGateway
/// What the admin server answers, by path.
public enum AdminRoutes {
    public static func respond(_ path: String, _ gateway: Gateway) -> AdminServer.Response {
        switch path {
        case "/metrics":
            let (total, workers) = gateway.metricsSnapshots()
            return (200, "text/plain; version=0.0.4; charset=utf-8",
                    GatewayMetrics.render(
                        total: total, workers: workers, draining: gateway.isDraining, backend: gateway.backendCounters,
                        links: gateway.backendLinks
                    ) + ProcessMetrics.render())
        case "/healthz":
            return (200, "text/plain", "ok\n")
        case "/readyz":
            return gateway.isDraining ? (503, "text/plain", "draining\n") : (200, "text/plain", "ready\n")
        default:
            return (404, "text/plain", "not found; try /metrics, /healthz or /readyz\n")
        }
    }
}
