/* coproc-version-macros.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (COPROC_INSIDE) && !defined (COPROC_COMPILATION)
# error "Only <coproc.h> can be included directly."
#endif

#include <glib.h>

/* The library is built with hidden visibility: only what carries one of
 * the COPROC_AVAILABLE_IN_* macros is exported. */
#ifndef _COPROC_EXTERN
# ifdef COPROC_COMPILATION
#  define _COPROC_EXTERN __attribute__ ((visibility ("default"))) extern
# else
#  define _COPROC_EXTERN extern
# endif
#endif

#define COPROC_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

#ifndef COPROC_VERSION_MIN_REQUIRED
# define COPROC_VERSION_MIN_REQUIRED COPROC_VERSION_1_0
#endif

#ifdef COPROC_DISABLE_DEPRECATION_WARNINGS
# define COPROC_DEPRECATED _COPROC_EXTERN
# define COPROC_DEPRECATED_FOR(f) _COPROC_EXTERN
#else
# define COPROC_DEPRECATED G_DEPRECATED _COPROC_EXTERN
# define COPROC_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _COPROC_EXTERN
#endif

/* Every symbol of the 1.0 API. Later releases add COPROC_AVAILABLE_IN_x_y. */
#define COPROC_AVAILABLE_IN_ALL _COPROC_EXTERN
