import RingGateway
/// What `tuning/apply --profile NAME` sets for the sysctls `HostCheck` looks at, so a start-up
/// warning can name the smallest profile that fixes it. The values mirror
/// `tuning/sysctl.d/90-ringgate-<name>.conf`; `HostCheckTests` reads those files and fails
/// when the two drift apart.
struct TuningProfile: Sendable {
    let name: String
    let values: [String: [UInt64]]

    static let c1m = TuningProfile(name: "c1m", values: [
        "fs.nr_open": [1_048_576],
        "fs.file-max": [4_194_304],
        "net.core.somaxconn": [65535],
        "net.ipv4.tcp_mem": [1_048_576, 1_572_864, 2_097_152],
    ])
    static let c10m = TuningProfile(name: "c10m", values: [
        "fs.nr_open": [1_048_576],
        "fs.file-max": [12_582_912],
        "net.core.somaxconn": [65535],
        "net.ipv4.tcp_mem": [10_485_760, 12_582_912, 16_777_216],
    ])
    /// Smallest first.
    static let all = [c1m, c10m]

    /// The fix for sysctl `key`: the smallest profile whose value `isEnough`, or else a direct
    /// `sysctl -w` with `needed`.
    static func fix(_ key: String, needed: String, isEnough: ([UInt64]) -> Bool) -> String {
        for profile in all {
            if let value = profile.values[key], isEnough(value) {
                let shown = value.map { String($0) }.joined(separator: " ")
                return "tuning/apply --profile \(profile.name) (sets \(key) = \(shown))"
            }
        }
        return "sysctl -w \(key)='\(needed)'"
    }
}
