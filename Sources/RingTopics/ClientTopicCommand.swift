/// A client's own topic change (`--client-topics`). With the option on, a text message whose
/// first byte is NUL belongs to the gateway, not the application:
///
///     "\0sub TOPIC"      subscribe this connection to TOPIC
///     "\0unsub TOPIC"    unsubscribe it
///
/// TOPIC is every byte after the single space, 1 to 255 of them. The gateway consumes the
/// message and answers with one text message that starts with NUL too (ClientTopicReply).
/// NUL starts no text that applications send in practice (JSON, chat lines), and it costs one
/// byte compare per text message to recognize.
package struct ClientTopicCommand {
    package enum Verb: Equatable {
        case subscribe
        case unsubscribe

        package var word: StaticString { self == .subscribe ? "sub" : "unsub" }
    }

    package static let marker: UInt8 = 0
    package static let maxTopicBytes = 255

    package let verb: Verb
    /// Bytes of the message that was parsed; valid as long as it is.
    package let topic: UnsafeRawBufferPointer

    /// Whether `message` is for the gateway (starts with the marker).
    @inline(__always)
    package static func isCommand(_ message: UnsafeRawBufferPointer) -> Bool {
        !message.isEmpty && message[0] == marker
    }

    /// The command in `message`, which starts with the marker; nil when it is not one.
    package static func parse(_ message: UnsafeRawBufferPointer) -> ClientTopicCommand? {
        guard let verb = message.count > 4 && message[4] == UInt8(ascii: " ") ? Verb.subscribe
                : message.count > 6 && message[6] == UInt8(ascii: " ") ? Verb.unsubscribe : nil
        else { return nil }
        let word = verb.word
        let head = 1 + word.utf8CodeUnitCount
        guard UnsafeRawBufferPointer(rebasing: message[1..<head])
            .elementsEqual(UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
        else { return nil }
        let topic = UnsafeRawBufferPointer(rebasing: message[(head + 1)...])
        guard !topic.isEmpty, topic.count <= maxTopicBytes else { return nil }
        return ClientTopicCommand(verb: verb, topic: topic)
    }
}

/// The gateway's answer to a client's topic command: "\0" + status + " " + verb + " " + topic,
/// or "\0bad" for a message that starts with NUL but is no command.
package enum ClientTopicReply: Equatable {
    /// Done (also when there was nothing to do: subscribed already, or not subscribed).
    case ok
    /// The topic is not under one of the configured prefixes.
    case denied
    /// The connection holds `--client-topics-max` subscriptions, or the gateway `--max-topics` topics.
    case full
    /// Not a command.
    case bad

    package var word: StaticString {
        switch self {
        case .ok: "ok"
        case .denied: "denied"
        case .full: "full"
        case .bad: "bad"
        }
    }

    /// Writes the answer into `buffer` (at least `maxBytes`); returns its length.
    package static let maxBytes = 1 + 6 + 1 + 5 + 1 + ClientTopicCommand.maxTopicBytes

    package func write(into buffer: UnsafeMutableRawBufferPointer, for command: ClientTopicCommand?) -> Int {
        var at = 0
        func put(_ bytes: UnsafeRawBufferPointer) {
            UnsafeMutableRawBufferPointer(rebasing: buffer[at..<(at + bytes.count)]).copyMemory(from: bytes)
            at += bytes.count
        }
        func put(_ text: StaticString) { put(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) }
        buffer[0] = ClientTopicCommand.marker
        at = 1
        put(word)
        if let command, self != .bad {
            put(" ")
            put(command.verb.word)
            put(" ")
            put(command.topic)
        }
        return at
    }
}
