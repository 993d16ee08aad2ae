/*
 * The definition of LLVMFuzzerRunDriver comes from the libFuzzer runtime that
 * -sanitize=fuzzer links in; this file only gives the header a target to belong to.
 */
#include "fuzzer_driver.h"
