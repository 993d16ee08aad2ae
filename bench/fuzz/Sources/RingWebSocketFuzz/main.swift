// Hands control to libFuzzer, which parses its flags (-max_total_time, corpus directories)
// and calls fuzzOne for each input. See fuzzer_driver.h for why main lives here.

import CFuzzerDriver
import Glibc

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    fuzzOne(data!, size)
}
exit(status)
