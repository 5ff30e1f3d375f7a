package jwtaudit

import "time"

// secondText caches the RFC 3339 text of one second in one location: the
// date and time of day ("2006-01-02T15:04:05") and the zone ("Z",
// "+07:00", or "+100:00" in a zone that far from UTC), so that writing a time in the same second again only adds
// its fraction. Events written one after another share their second far
// more often than not. A secondText belongs to one goroutine at a time
// (it lives beside a pooled line buffer). The zero value is empty: its nil
// loc matches no time, whose Location is never nil.
type secondText struct {
	sec      int64
	loc      *time.Location
	dateTime [19]byte
	zone     [8]byte // "Z", "+07:00", up to "+9999:59"
	zoneLen  uint8
}

// plain is plainTime(t), answered from c when c holds t's second: only a
// plain time's second is ever kept. Events one after another share their
// second, and most then skip working out t's zone.
func (c *secondText) plain(t time.Time) bool {
	if c != nil && c.loc == t.Location() && c.sec == t.Unix() {
		return true
	}
	return plainTime(t)
}

// appendRFC3339Nano appends t as t.AppendFormat(dst, time.RFC3339Nano)
// does, for a year of four digits (see plainTime), through c when it is
// not nil.
func appendRFC3339Nano(dst []byte, t time.Time, c *secondText) []byte {
	if c == nil {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	sec, loc := t.Unix(), t.Location()
	if c.sec != sec || c.loc != loc {
		// The offset of loc is the same all through one second.
		var b [48]byte
		text := t.Truncate(time.Second).AppendFormat(b[:0], time.RFC3339)
		if len(text)-19 > len(c.zone) {
			// A zone hundreds of hours from UTC ("+100:00" and more: a
			// time.FixedZone takes any offset): written as it comes,
			// without the cache, and nothing is kept of it.
			c.loc = nil
			return t.AppendFormat(dst, time.RFC3339Nano)
		}
		c.sec, c.loc = sec, loc
		copy(c.dateTime[:], text[:19])
		c.zoneLen = uint8(copy(c.zone[:], text[19:]))
	}
	dst = append(dst, c.dateTime[:]...)
	dst = appendFraction(dst, t.Nanosecond())
	return append(dst, c.zone[:c.zoneLen]...)
}

// appendFraction appends ".nnnnnnnnn" without its trailing zeros, or
// nothing for a whole second, as RFC3339Nano's ".999999999" does.
func appendFraction(dst []byte, nsec int) []byte {
	if nsec == 0 {
		return dst
	}
	var digits [10]byte
	digits[0] = '.'
	for i := 9; i >= 1; i-- {
		digits[i] = byte('0' + nsec%10)
		nsec /= 10
	}
	n := 10
	for digits[n-1] == '0' {
		n--
	}
	return append(dst, digits[:n]...)
}
