/* coproc-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "coproc-error.h"

/**
 * coproc_error_quark:
 *
 * The quark of the [error@Coproc.Error] domain, `coproc-error-quark`.
 *
 * Returns: the error domain quark
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (coproc-error-quark, coproc_error)
