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

/**
 * COPROC_VERSION_1_0:
 *
 * A macro that evaluates to the 1.0 version of coproc, in a format that
 * can be used with `COPROC_VERSION_MIN_REQUIRED`.
 *
 * Since: 1.0
 */
#define COPROC_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

/**
 * COPROC_VERSION_1_2:
 *
 * A macro that evaluates to the 1.2 version of coproc, in a format that
 * can be used with `COPROC_VERSION_MIN_REQUIRED` and
 * `COPROC_VERSION_MAX_ALLOWED`.
 *
 * Since: 1.2
 */
#define COPROC_VERSION_1_2 (G_ENCODE_VERSION (1, 2))

/* The version of this release's API. */
#define COPROC_VERSION_CUR_STABLE COPROC_VERSION_1_2

/* COPROC_VERSION_MIN_REQUIRED: the oldest API the application uses; symbols
 * deprecated after it warn. COPROC_VERSION_MAX_ALLOWED: the newest API the
 * application may use; symbols added after it warn, as GLib's
 * GLIB_VERSION_MAX_ALLOWED does. Both default to this release. */
#ifndef COPROC_VERSION_MIN_REQUIRED
# define COPROC_VERSION_MIN_REQUIRED COPROC_VERSION_1_0
#endif

#ifndef COPROC_VERSION_MAX_ALLOWED
# define COPROC_VERSION_MAX_ALLOWED COPROC_VERSION_CUR_STABLE
#endif

#if COPROC_VERSION_MAX_ALLOWED < COPROC_VERSION_MIN_REQUIRED
# error "COPROC_VERSION_MAX_ALLOWED must be >= COPROC_VERSION_MIN_REQUIRED"
#endif

/* COPROC_DEPRECATED marks a symbol as deprecated, COPROC_DEPRECATED_FOR (f)
 * as deprecated in favour of f. Define COPROC_DISABLE_DEPRECATION_WARNINGS
 * before including <coproc.h> to silence the compiler warnings.
 *
 * COPROC_DEPRECATED_FOR is an object-like alias of a function-like macro
 * whose name g-ir-scanner ignores: a function-like COPROC_DEPRECATED_FOR
 * would be a function macro of the GIR, and a page of the reference. */
#ifdef COPROC_DISABLE_DEPRECATION_WARNINGS
# define COPROC_DEPRECATED _COPROC_EXTERN
# define _COPROC_DEPRECATED_FOR(f) _COPROC_EXTERN
#else
# define COPROC_DEPRECATED G_DEPRECATED _COPROC_EXTERN
# define _COPROC_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _COPROC_EXTERN
#endif
#define COPROC_DEPRECATED_FOR _COPROC_DEPRECATED_FOR

/**
 * COPROC_AVAILABLE_IN_ALL:
 *
 * Marks a symbol that is part of the 1.0 API and exported from the
 * library. Later releases add `COPROC_AVAILABLE_IN_x_y` macros.
 *
 * Since: 1.0
 */
#define COPROC_AVAILABLE_IN_ALL _COPROC_EXTERN

/**
 * COPROC_AVAILABLE_IN_1_2:
 *
 * Marks a symbol added in coproc 1.2, exported from the library. When
 * `COPROC_VERSION_MAX_ALLOWED` is defined below `COPROC_VERSION_1_2`
 * before including `<coproc.h>`, using such a symbol warns at compile
 * time.
 *
 * Since: 1.2
 */
#if COPROC_VERSION_MAX_ALLOWED < COPROC_VERSION_1_2
# define COPROC_AVAILABLE_IN_1_2 G_UNAVAILABLE (1, 2) _COPROC_EXTERN
#else
# define COPROC_AVAILABLE_IN_1_2 _COPROC_EXTERN
#endif
