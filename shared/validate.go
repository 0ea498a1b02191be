package shared

import (
	"encoding/json"
	"errors"
	"slices"
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

// ValidRoomID checks a room id: 1–64 code points of valid UTF-8 without
// control, format or unassigned characters (PROTOCOL.md 4.4), and neither
// ALL nor anything that reads as ALL (see looksLikeAll). Ids are told
// apart by sight, so an invisible or reordering character (U+202E
// RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE, U+FEFF) would let two
// rooms look the same; unlike display text (ValidText), an id allows no
// joiner either.
func ValidRoomID(field, id string) *Error {
	if id == "" {
		return BadRequest(field, "required")
	}
	if err := validText(field, id, MaxRoomID, false); err != nil {
		return err
	}
	if looksLikeAll(id) {
		return BadRequest(field, "ALL is reserved")
	}
	return nil
}

// ValidText checks short display text (an alias, a status line, a room
// name, a cid): valid UTF-8 of at most max code points, without control,
// format or unassigned characters (400 naming field; 413 past max is the
// caller's choice). Format characters reorder or hide text (U+202E turns
// "gnp.exe" around, U+200B splits a word invisibly), and an unassigned
// code point may become anything in a later Unicode version. The one
// exception is a joiner (U+200C ZWNJ, U+200D ZWJ) between two visible
// characters: Persian and Indic spelling and emoji sequences such as 👩‍💻
// need it.
func ValidText(field, s string, max int) *Error {
	return validText(field, s, max, true)
}

// ValidName is ValidText for a name shown where an id could be (an alias,
// a room name): it also refuses anything that reads as ALL, the
// conversation with everyone.
func ValidName(field, s string, max int) *Error {
	if err := ValidText(field, s, max); err != nil {
		return err
	}
	if looksLikeAll(s) {
		return BadRequest(field, "ALL is reserved")
	}
	return nil
}

func validText(field, s string, max int, joiners bool) *Error {
	if !utf8.ValidString(s) {
		return BadRequest(field, "not valid UTF-8")
	}
	n := 0
	prev := rune(-1)
	for i, r := range s {
		n++
		switch {
		case r < utf8.RuneSelf: // ASCII: only the controls are refused
			if r < 0x20 || r == 0x7f {
				return BadRequest(field, "control characters are not allowed")
			}
		case unicode.IsControl(r):
			return BadRequest(field, "control characters are not allowed")
		case unicode.Is(unicode.Cf, r):
			if !joiners || !isJoiner(r) || !visible(prev) || !visible(nextRune(s[i+utf8.RuneLen(r):])) {
				return BadRequest(field, "format characters (such as U+200B or U+202E) are not allowed")
			}
		case !assigned(r):
			return BadRequest(field, "unassigned code points are not allowed")
		}
		prev = r
	}
	if n > max {
		return BadRequest(field, "longer than "+strconv.Itoa(max)+" characters")
	}
	return nil
}

func isJoiner(r rune) bool { return r == '\u200c' || r == '\u200d' }

// visible reports whether a joiner may stand beside r: a graphic
// character that is not white space (-1, before the start or past the
// end, is not).
func visible(r rune) bool {
	return r >= 0 && unicode.IsGraphic(r) && !unicode.IsSpace(r)
}

// nextRune is the first rune of s, or -1.
func nextRune(s string) rune {
	if s == "" {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// assigned reports whether r has a general category other than Cn
// (unassigned) in the Unicode version of this Go release. Surrogates do
// not occur in valid UTF-8.
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co)
}

// looksLikeAll reports whether s reads as ALL: with the white space
// around it and the default-ignorable characters in it (variation
// selectors, Hangul fillers; format characters are refused before this)
// left out, its NFKC form folds to "all": "ＡＬＬ", "𝐀𝐋𝐋", "ᴬᴸᴸ", "Ⓐⓛⓛ".
// NFKC needs golang.org/x/text, which this package does not import (it
// builds for the browser too), so the few code points whose NFKC form
// folds to a or l are listed in allLookalikes, and lookalike_test.go
// checks the list against x/text. Letters of other scripts that merely
// look alike (Cyrillic А) are not NFKC-equivalent and are not caught.
func looksLikeAll(s string) bool {
	s = strings.TrimFunc(s, unicode.IsSpace)
	var got [3]byte
	n := 0
	for _, r := range s {
		if unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			continue
		}
		c := foldAorL(r)
		if c == 0 || n == len(got) {
			return false
		}
		got[n] = c
		n++
	}
	return string(got[:n]) == "all"
}

// foldAorL returns 'a' or 'l' for a rune whose NFKC form folds to that
// letter, and 0 for any other rune.
func foldAorL(r rune) byte {
	switch r {
	case 'a', 'A':
		return 'a'
	case 'l', 'L':
		return 'l'
	}
	if r < utf8.RuneSelf {
		return 0
	}
	i, ok := slices.BinarySearchFunc(allLookalikes[:], r, func(e lookalike, r rune) int { return int(e.r - r) })
	if !ok {
		return 0
	}
	return allLookalikes[i].c
}

// lookalike is a code point r whose NFKC form folds to the letter c.
type lookalike struct {
	r rune
	c byte
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
