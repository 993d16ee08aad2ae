/*
 * fuzzer_driver.h: libFuzzer's library entry point, declared for Swift.
 *
 * SwiftPM links every Linux executable with main defined as <module>_main, so libFuzzer's
 * own main() is never used; the Swift main calls LLVMFuzzerRunDriver instead ("Using
 * libFuzzer as a library" in the libFuzzer documentation, LLVM 11 and later).
 */
#ifndef FUZZER_DRIVER_H
#define FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses libFuzzer flags from argc/argv and runs the fuzzing loop, calling `callback` for
 * each input. Returns the process exit status libFuzzer would have used.
 */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
