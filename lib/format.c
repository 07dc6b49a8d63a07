// SPDX-License-Identifier: GPL-2.0
/*
 * A small vsnprintf for guest code, which has no libc. Supports the
 * conversions tests use: %d %i %u %x %X %o %p %s %c %%, with the flags
 * '-' '0', a field width (or *), a precision for %s, and the length
 * modifiers hh h l ll z j t.
 */
#include <stdarg.h>
#include <stdbool.h>

#include "guest.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (n--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

static void put_number(struct out *o, unsigned long long v, bool negative, unsigned int base,
		       bool upper, int width, bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (negative) {
		if (zero && !left) {
			put(o, '-');
			width--;
		} else {
			tmp[n++] = '-';
		}
	}
	{
		char rev[24];
		int i;

		for (i = 0; i < n; i++)
			rev[i] = tmp[n - 1 - i];
		put_padded(o, rev, n, width, left, zero && !left ? '0' : ' ');
	}
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size };

	for (; *fmt; fmt++) {
		bool left = false, zero = false;
		int width = 0, precision = -1, lng = 0;
		unsigned long long u;
		long long s;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++) {
			if (*fmt == '-')
				left = true;
			else
				zero = true;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		if (*fmt == '.') {
			precision = 0;
			for (fmt++; *fmt >= '0' && *fmt <= '9'; fmt++)
				precision = precision * 10 + (*fmt - '0');
		}
		for (;; fmt++) {
			if (*fmt == 'l' || *fmt == 'z' || *fmt == 'j' || *fmt == 't')
				lng++;
			else if (*fmt != 'h')
				break;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, long long) : va_arg(ap, int);
			u = s < 0 ? -(unsigned long long)s : (unsigned long long)s;
			put_number(&o, u, s < 0, 10, false, width, left, zero);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			u = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			put_number(&o, u, false, *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16,
				   *fmt == 'X', width, left, zero);
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_number(&o, (unsigned long long)(uintptr_t)va_arg(ap, void *), false, 16,
				   false, width, left, zero);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			size_t n = 0;

			if (!str)
				str = "(null)";
			while (str[n] && (precision < 0 || (int)n < precision))
				n++;
			put_padded(&o, str, n, width, left, ' ');
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);

			put_padded(&o, &c, 1, width, left, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
		}
	}
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
	return (int)o.len;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
