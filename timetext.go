package jwtaudit

import "time"

// secondText caches the RFC 3339 text of one second in one location: the
// date and time of day ("2006-01-02T15:04:05") and the zone ("Z" or
// "+07:00"), so that writing a time in the same second again only adds
// its fraction. Events written one after another share their second far
// more often than not. A secondText belongs to one goroutine at a time
// (it lives beside a pooled line buffer). The zero value is empty: its nil
// loc matches no time, whose Location is never nil.
type secondText struct {
	sec      int64
	loc      *time.Location
	dateTime [19]byte
	zone     [6]byte
	zoneLen  uint8
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
		var b [32]byte
		text := t.Truncate(time.Second).AppendFormat(b[:0], time.RFC3339)
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
