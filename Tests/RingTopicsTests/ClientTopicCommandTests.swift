@testable import RingTopics
import Testing

@Suite("Client topic commands")
struct ClientTopicCommandTests {
    private func parse(_ text: String) -> (ClientTopicCommand.Verb, String)? {
        Array(text.utf8).withUnsafeBytes { raw in
            ClientTopicCommand.parse(raw).map { ($0.verb, String(decoding: $0.topic, as: UTF8.self)) }
        }
    }

    @Test("sub and unsub take the rest of the message as the topic")
    func wellFormed() {
        #expect(parse("\0sub room.1") ?? (.unsubscribe, "") == (.subscribe, "room.1"))
        #expect(parse("\0unsub room 1") ?? (.subscribe, "") == (.unsubscribe, "room 1"))
        #expect(parse("\0sub " + String(repeating: "t", count: 255)) != nil)
    }

    @Test("anything else that starts with NUL is not a command", arguments: [
        "\0", "\0sub", "\0sub ", "\0unsub ", "\0SUB room", "\0subx room", "\0sub\u{1}room", "\0pub room",
        "\0unsubscribe room", "\0sub " + String(repeating: "t", count: 256),
    ])
    func malformed(text: String) {
        #expect(parse(text) == nil)
    }

    @Test("replies name the status, the verb and the topic; bad names nothing else")
    func replies() {
        let message = Array("\0unsub news".utf8)
        message.withUnsafeBytes { raw in
            let command = ClientTopicCommand.parse(raw)
            for (reply, text) in [(ClientTopicReply.ok, "\0ok unsub news"), (.denied, "\0denied unsub news"),
                                  (.full, "\0full unsub news"), (.bad, "\0bad")] {
                let written = withUnsafeTemporaryAllocation(byteCount: ClientTopicReply.maxBytes, alignment: 1) { buffer in
                    String(decoding: buffer[..<reply.write(into: buffer, for: command)], as: UTF8.self)
                }
                #expect(written == text)
            }
        }
        #expect(ClientTopicCommand.isCommand(UnsafeRawBufferPointer(start: nil, count: 0)) == false)
    }
}
