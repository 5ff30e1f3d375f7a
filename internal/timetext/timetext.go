// Package timetext writes times as RFC 3339 text the way log/slog's JSON
// handler does, with a cache of the last second written, so that events
// one after another pay only for their fraction of a second.
package timetext

import "time"

// Second caches the RFC 3339 text of one second in one location: the
// date and time of day ("2006-01-02T15:04:05") and the zone ("Z",
// "+07:00", or "+100:00" in a zone that far from UTC), so that writing a time in the same second again only adds
// its fraction. Events written one after another share their second far
// more often than not. A Second belongs to one goroutine at a time
// (it lives beside a pooled line buffer). The zero value is empty: its nil
// loc matches no time, whose Location is never nil.
type Second struct {
	sec      int64
	loc      *time.Location
	dateTime [19]byte
	zone     [8]byte // "Z", "+07:00", up to "+9999:59"
	zoneLen  uint8
}

// Plain is the package's Plain(t), answered from c when c holds t's second: only a
// plain time's second is ever kept. Events one after another share their
// second, and most then skip working out t's zone.
func (c *Second) Plain(t time.Time) bool {
	if c != nil && c.loc == t.Location() && c.sec == t.Unix() {
		return true
	}
	return Plain(t)
}

// AppendRFC3339Nano appends t as t.AppendFormat(dst, time.RFC3339Nano)
// does, for a year of four digits (see Plain), through c when it is
// not nil.
func AppendRFC3339Nano(dst []byte, t time.Time, c *Second) []byte {
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

// Plain reports whether slog writes t as RFC 3339 text alone: it adds
// an error to a time whose year, in t's own zone, has other than four
// digits. A time more than two days inside that range, in a zone less than
// two days from UTC (every real one), is one without working out its year,
// which costs as much as writing it; a time.FixedZone can be any distance
// from UTC, and its times have their year worked out.
func Plain(t time.Time) bool {
	if u := t.Unix(); u > firstPlainSecond && u < lastPlainSecond {
		if t.Location() == time.UTC {
			return true
		}
		if _, offset := t.Zone(); offset > -maxPlainOffset && offset < maxPlainOffset {
			return true
		}
	}
	y := t.Year()
	return y >= 0 && y < 10000
}

// maxPlainOffset is the margin firstPlainSecond and lastPlainSecond leave,
// in seconds: two days.
const maxPlainOffset = 2 * 86400

// firstPlainSecond and lastPlainSecond are two days after the start of
// year 0 and two days before the end of year 9999, in Unix seconds.
const (
	firstPlainSecond = -62167219200 + 2*86400
	lastPlainSecond  = 253402300799 - 2*86400
)
