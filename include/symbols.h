/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMTEST_SYMBOLS_H
#define KVMTEST_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "function+0xoffset" for an address in this binary's code (the guest runs
 * the same code at the same addresses); false if unknown. */
bool symbolize(uint64_t addr, char *buf, size_t len);

#endif
