/// Whole-buffer UTF-8 validation for text that arrives in one piece, such as a
/// text message a worker asks the gateway to send.
public enum UTF8Check {
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isComplete
    }
}
