@testable import RingGateBackend
import Testing

@Suite struct OpenRequestTests {
    let request = OpenRequest(
        conn: ConnectionID(1), remote: "127.0.0.1:1", path: "/chat/blue", query: "room=a%20b&nick=ann+lee&token&x=%zz",
        protocols: ["chat"], headers: [Header(name: "authorization", value: "Bearer t")], needsDecision: true, moved: false)

    @Test func queryValuesArePercentDecoded() {
        #expect(request.queryValue("room") == "a b")
        #expect(request.queryValue("nick") == "ann lee")
        #expect(request.queryValue("token") == "")
        #expect(request.queryValue("x") == "%zz")
        #expect(request.queryValue("missing") == nil)
    }

    @Test func headersMatchInAnyCase() {
        #expect(request.header("Authorization") == "Bearer t")
        #expect(request.header("cookie") == nil)
    }

    @Test func closeReasonsAreCutAtCharacterBoundaries() {
        #expect(utf8Prefix(String(repeating: "é", count: 100), maxBytes: 123).count == 122)
        #expect(utf8Prefix("short", maxBytes: 123) == Array("short".utf8))
    }
}
