package shared

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of PROTOCOL.md section 4. Lengths are in Unicode code points.
const (
	MaxUserID      = 32
	MinPassword    = 6
	MaxPassword    = 128
	MaxAlias       = 64
	MaxToday       = 140
	MaxCID         = 64
	MaxRoomID      = 64
	MaxRoomName    = 100
	DefaultMaxText = 4000
	DefaultLimit   = 50
	MaxLimit       = 100
)

// Error is a request rejected with an answer code. Message is the human text
// of the answer and names the offending field.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + " " + e.Message }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, msg string, args ...any) *Error {
	if len(args) > 0 {
		msg = sprintf(msg, args...)
	}
	return &Error{Code: code, Message: msg}
}

// sprintf is a tiny fmt.Sprintf for %s and %d, so the wasm build does not
// pull fmt in through this file alone.
func sprintf(format string, args ...any) string {
	var b strings.Builder
	ai := 0
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) && ai < len(args) {
			switch v := args[ai].(type) {
			case string:
				b.WriteString(v)
			case int:
				b.WriteString(strconv.Itoa(v))
			default:
				b.WriteString("?")
			}
			ai++
			i++
			continue
		}
		b.WriteByte(format[i])
	}
	return b.String()
}

var errBadSeq = errors.New("invalid sequence number")

// BadRequest is a 400 naming field.
func BadRequest(field, why string) *Error {
	return &Error{Code: CodeBadRequest, Message: "invalid " + field + ": " + why}
}

// Decode unmarshals a request payload into v. A payload that is not an
// object, or a field of the wrong type, gives a 400 that names the field.
func Decode(payload json.RawMessage, v any) *Error {
	p := strings.TrimSpace(string(payload))
	if p == "" || p == "null" {
		p = "{}"
	}
	if p[0] != '{' {
		return &Error{Code: CodeBadRequest, Message: "invalid payload: expected an object"}
	}
	if err := json.Unmarshal([]byte(p), v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" && te.Type == seqType {
			return BadRequest(te.Field, "expected a sequence number (a decimal string)")
		}
		if errors.As(err, &te) && te.Field != "" {
			return BadRequest(te.Field, "expected "+te.Type.Kind().String()+", got "+te.Value)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &Error{Code: CodeBadRequest, Message: "invalid payload: malformed JSON"}
		}
		// A custom unmarshaller (Seq) failed; name the field if we can.
		return &Error{Code: CodeBadRequest, Message: "invalid payload: " + err.Error()}
	}
	return nil
}

// RuneLen is the length of s in code points.
func RuneLen(s string) int { return utf8.RuneCountInString(s) }

// ValidUserID checks a user id: 1–32 of A-Z a-z 0-9 _ . -, not ALL.
func ValidUserID(field, id string) *Error {
	if id == "" {
		return BadRequest(field, "required")
	}
	if len(id) > MaxUserID {
		return BadRequest(field, "longer than 32 characters")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return BadRequest(field, "only letters A-Z, digits and _ . - are allowed")
		}
	}
	if strings.EqualFold(id, All) {
		return BadRequest(field, "ALL is reserved")
	}
	return nil
}

// ValidRoomID checks a room id: 1–64 code points of valid UTF-8 with no
// control characters, not ALL.
func ValidRoomID(field, id string) *Error {
	if id == "" {
		return BadRequest(field, "required")
	}
	if err := ValidText(field, id, MaxRoomID); err != nil {
		return err
	}
	if Fold(id) == Fold(All) {
		return BadRequest(field, "ALL is reserved")
	}
	return nil
}

// ValidText checks that s is valid UTF-8 without control characters and at
// most max code points (413 past that is the caller's choice; this is 400).
func ValidText(field, s string, max int) *Error {
	if !utf8.ValidString(s) {
		return BadRequest(field, "not valid UTF-8")
	}
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) {
			return BadRequest(field, "control characters are not allowed")
		}
		n++
	}
	if n > max {
		return BadRequest(field, "longer than "+strconv.Itoa(max)+" characters")
	}
	return nil
}

// ValidMessageText checks message data: 1–max code points of valid UTF-8.
// Newlines and tabs are allowed; other control characters are not.
func ValidMessageText(data string, max int) *Error {
	if data == "" {
		return BadRequest("data", "empty")
	}
	if !utf8.ValidString(data) {
		return BadRequest("data", "not valid UTF-8")
	}
	n := 0
	for _, r := range data {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return BadRequest("data", "control characters are not allowed")
		}
		n++
	}
	if n > max {
		return &Error{Code: CodeTooLarge, Message: "data is longer than " + strconv.Itoa(max) + " characters"}
	}
	return nil
}

// ParseOffset parses an optional offset given as a JSON string or number.
// Absent (nil, null) gives ok=false.
func ParseOffset(raw json.RawMessage) (seq Seq, ok bool, err error) {
	p := strings.TrimSpace(string(raw))
	if p == "" || p == "null" {
		return 0, false, nil
	}
	if err := seq.UnmarshalJSON([]byte(p)); err != nil {
		return 0, false, err
	}
	return seq, true, nil
}

// Fold returns the key under which ids are unique: each rune mapped by
// Unicode simple case folding (to lower case where the folding orbit has
// one), so "Alice", "ALICE" and "alice" share one key.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	return strings.Map(foldRune, s)
}

func foldRune(r rune) rune {
	c := unicode.ToLower(unicode.ToUpper(r))
	if c == r {
		return r
	}
	// Keep c only when it is in r's folding orbit: simple folding never
	// maps across orbits (İ stays İ, unlike ToLower).
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f == c {
			return c
		}
	}
	return r
}
