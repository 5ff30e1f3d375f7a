package jwtaudit

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/jwtaudit/jwtaudit/internal/jsonx"
	"github.com/jwtaudit/jwtaudit/internal/timetext"
)

// AppendJSON appends e to dst as one line of JSON ending in a newline:
// byte for byte what slog.NewJSONHandler(w, nil) writes for the record
// [SlogSink] makes of e, with lead written before the event's own
// attributes (the file store puts its chain members there). Whatever reads
// or hashes the lines of one reads the lines of the other.
//
// An event whose attributes are strings, integers, booleans, durations,
// times and non-empty groups of them (every event this package makes) is
// written directly and allocates nothing. Any other (an attribute holding
// a float, a struct, a [slog.LogValuer], an empty key or an empty group) is
// handed to slog's own JSON handler, so that its quirks are reproduced
// rather than imitated.
func (e Event) AppendJSON(dst []byte, lead ...slog.Attr) []byte {
	return e.appendJSON(dst, lead, nil)
}

// appendJSON is AppendJSON, writing the event's own times through c (see
// timetext.Second) when it is not nil.
func (e *Event) appendJSON(dst []byte, lead []slog.Attr, c *timeTexts) []byte {
	if !c.forTime().Plain(e.Time) || !c.forExpiry().Plain(e.ExpiresAt) || !plainAttrs(lead, 0) || !plainAttrs(e.Claims, 0) || !plainAttrs(e.Attrs, 0) {
		return e.appendJSONBySlog(dst, lead)
	}
	dst = append(dst, '{')
	if !e.Time.IsZero() {
		dst = append(dst, `"time":"`...)
		dst = timetext.AppendRFC3339Nano(dst, e.Time, c.forTime())
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"level":"`...)
	dst = append(dst, e.Level().String()...) // INFO, WARN or ERROR
	// The message, the op, the outcome and the reason are names from this
	// package's tables, plain ASCII (a test holds them to it): written
	// without looking for anything to escape.
	dst = append(dst, `","msg":"`...)
	dst = append(dst, e.Message()...)
	dst = append(dst, '"')
	dst = appendAttrsJSON(dst, lead, false)

	// The fields, in the order and under the conditions of LogValue.
	dst = appendNameField(dst, "op", e.Op.String())
	dst = appendNameField(dst, "outcome", e.Outcome.String())
	if e.Reason != ReasonNone {
		dst = appendNameField(dst, "reason", e.Reason.String())
	}
	dst = appendStringField(dst, "detail", e.Detail)
	dst = appendStringField(dst, "alg", string(e.Algorithm))
	dst = appendStringField(dst, "kid", e.KeyID)
	dst = appendStringField(dst, "iss", e.Issuer)
	dst = appendStringField(dst, "sub", e.Subject)
	if len(e.Audience) > 0 {
		// slog.Any of a []string: slog marshals it with encoding/json.
		dst = append(dst, `,"aud":[`...)
		for i, a := range e.Audience {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendMarshaledString(dst, a)
		}
		dst = append(dst, ']')
	}
	dst = appendStringField(dst, "jti", e.ID)
	if !e.ExpiresAt.IsZero() {
		dst = append(dst, `,"exp":"`...)
		dst = timetext.AppendRFC3339Nano(dst, e.ExpiresAt, c.forExpiry())
		dst = append(dst, '"')
	}
	if !e.Fingerprint.IsZero() {
		dst = append(dst, `,"fingerprint":"`...)
		dst = b64.AppendEncode(dst, e.Fingerprint[:])
		dst = append(dst, '"')
	}
	if e.Duration != 0 {
		dst = append(dst, `,"duration":`...)
		dst = strconv.AppendInt(dst, int64(e.Duration), 10)
	}
	dst = append(dst, `,"verified":`...)
	dst = strconv.AppendBool(dst, e.Verified)
	if e.Cached {
		dst = append(dst, `,"cached":true`...)
	}
	if len(e.Claims) > 0 {
		dst = append(dst, `,"claims":{`...)
		dst = appendAttrsJSON(dst, e.Claims, true)
		dst = append(dst, '}')
	}
	dst = appendAttrsJSON(dst, e.Attrs, false)
	return append(dst, '}', '\n')
}

// timeTexts are the second caches of one line buffer: one for event times,
// which follow the clock, one for expiry times, which follow the tokens.
type timeTexts struct{ time, exp timetext.Second }

func (c *timeTexts) forTime() *timetext.Second {
	if c == nil {
		return nil
	}
	return &c.time
}

func (c *timeTexts) forExpiry() *timetext.Second {
	if c == nil {
		return nil
	}
	return &c.exp
}

// appendNameField writes ,"key":"name" for a name from this package's
// tables, which needs no escaping.
func appendNameField(dst []byte, key, name string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, `":"`...)
	dst = append(dst, name...)
	return append(dst, '"')
}

// appendStringField writes ,"key":value for a value that is set; every key
// passed is plain ASCII.
func appendStringField(dst []byte, key, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return jsonx.AppendString(dst, value)
}

// appendAttrsJSON writes attributes that plainAttrs accepted, each after a
// comma unless it opens an object.
func appendAttrsJSON(dst []byte, attrs []slog.Attr, opening bool) []byte {
	for i, a := range attrs {
		if i > 0 || !opening {
			dst = append(dst, ',')
		}
		dst = jsonx.AppendString(dst, a.Key)
		dst = append(dst, ':')
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			dst = jsonx.AppendString(dst, v.String())
		case slog.KindInt64:
			dst = strconv.AppendInt(dst, v.Int64(), 10)
		case slog.KindUint64:
			dst = strconv.AppendUint(dst, v.Uint64(), 10)
		case slog.KindBool:
			dst = strconv.AppendBool(dst, v.Bool())
		case slog.KindDuration:
			dst = strconv.AppendInt(dst, int64(v.Duration()), 10)
		case slog.KindTime:
			dst = append(dst, '"')
			dst = v.Time().AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, '"')
		case slog.KindGroup:
			dst = append(dst, '{')
			dst = appendAttrsJSON(dst, v.Group(), true)
			dst = append(dst, '}')
		}
	}
	return dst
}

// maxPlainDepth is how deep groups within groups are written directly;
// deeper ones go through slog.
const maxPlainDepth = 8

// plainAttrs reports whether appendAttrsJSON writes attrs as slog would:
// every key set, every value of a kind it writes itself, every group
// non-empty. Anything else, slog writes with rules of its own (an empty
// group's missing comma, a float marshaled by encoding/json, a LogValuer
// resolved), so it is left to slog.
func plainAttrs(attrs []slog.Attr, depth int) bool {
	for _, a := range attrs {
		if a.Key == "" {
			return false
		}
		switch v := a.Value; v.Kind() {
		case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool, slog.KindDuration:
		case slog.KindTime:
			if !timetext.Plain(v.Time()) {
				return false
			}
		case slog.KindGroup:
			g := v.Group()
			if len(g) == 0 || depth == maxPlainDepth || !plainAttrs(g, depth+1) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// appendJSONBySlog writes e through slog's JSON handler: for the events
// that AppendJSON does not write itself.
func (e *Event) appendJSONBySlog(dst []byte, lead []slog.Attr) []byte {
	buf := bytes.NewBuffer(dst)
	r := slog.NewRecord(e.Time, e.Level(), e.Message(), 0)
	r.AddAttrs(lead...)
	r.AddAttrs(e.LogValue().Group()...)
	// Writing to a bytes.Buffer does not fail; a value that cannot be
	// marshaled is written by slog as an "!ERROR:" string, as it would be
	// in any slog log.
	_ = slog.NewJSONHandler(buf, nil).Handle(context.Background(), r)
	return buf.Bytes()
}
