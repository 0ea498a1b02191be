package shared

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Validators of the version 2 requests. Each returns a 400 whose message
// names the field, or nil; what they accept is what the server may store
// and deliver. Rules that need the server's state (does the user exist,
// is the seq a message the user can see) are the server's.

// ParseLimit parses an optional page size given as a JSON number or a
// numeric string: absent (nil, null, "") gives def; otherwise it must be
// an integer from 1 to max.
func ParseLimit(field string, raw json.RawMessage, def, max int) (int, *Error) {
	l := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if l == "" || l == "null" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > max {
		return 0, BadRequest(field, "expected a number from 1 to "+strconv.Itoa(max))
	}
	return n, nil
}

// ValidConversation checks the fields that name a conversation (PROTOCOL.md
// section 4): target (a user id, ALL or a room id) is required and command
// is chat or groupchat; an empty command is allowed only when optional
// (history and search then pick a room if one has that id, else a user).
// targetField is "target" or, for typing, "recepient".
func ValidConversation(targetField, target, command string, optional bool) *Error {
	if target == "" {
		return BadRequest(targetField, "required")
	}
	if err := ValidText(targetField, target, MaxRoomID); err != nil {
		return err
	}
	switch {
	case command == CommandChat || command == CommandGroupchat:
	case command == "" && optional:
	case command == "":
		return BadRequest("command", "required: chat or groupchat")
	default:
		return BadRequest("command", "expected chat or groupchat")
	}
	if command == CommandGroupchat && Fold(target) == Fold(All) {
		return BadRequest(targetField, "ALL is not a room")
	}
	return nil
}

// ValidRef checks that a change names its message (4.6). A seq that names
// no message the user can see, "0" included, is the server's 404; one that
// is not a seq at all is Decode's 400.
func ValidRef(ref *Seq) *Error {
	if ref == nil {
		return BadRequest("ref", "required: the seq of the message to change")
	}
	return nil
}

// ValidReplyTo checks replyTo (4.3) when present: a positive seq. Whether
// it names an earlier message of the conversation is the server's check,
// also a 400.
func ValidReplyTo(replyTo *Seq) *Error {
	if replyTo != nil && *replyTo <= 0 {
		return BadRequest("replyTo", "not the seq of a message")
	}
	return nil
}

// ValidEmoji checks a reaction (4.6): 1–16 code points of valid UTF-8
// without control characters or white space, holding at least one
// pictograph, flag (a pair of regional indicators) or keycap (U+20E3).
func ValidEmoji(field, s string) *Error {
	if s == "" {
		return BadRequest(field, "required: one emoji")
	}
	if !utf8.ValidString(s) {
		return BadRequest(field, "not valid UTF-8")
	}
	n, found, ri := 0, false, 0
	for _, r := range s {
		n++
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return BadRequest(field, "expected one emoji, without spaces or control characters")
		}
		switch {
		case r >= 0x1F1E6 && r <= 0x1F1FF: // regional indicators: two make a flag
			ri++
			if ri == 2 {
				found = true
			}
			continue
		case r == 0x20E3, isPictograph(r):
			found = true
		}
		ri = 0
	}
	if n > MaxEmoji {
		return BadRequest(field, "longer than "+strconv.Itoa(MaxEmoji)+" characters")
	}
	if !found {
		return BadRequest(field, "expected one emoji")
	}
	return nil
}

// pictographs are the ranges of Unicode's Extended_Pictographic property
// (emoji-data.txt), without the regional indicators, which count only in
// pairs.
var pictographs = [][2]rune{
	{0x00A9, 0x00A9}, {0x00AE, 0x00AE}, {0x203C, 0x203C}, {0x2049, 0x2049},
	{0x2122, 0x2122}, {0x2139, 0x2139}, {0x2194, 0x2199}, {0x21A9, 0x21AA},
	{0x231A, 0x231B}, {0x2328, 0x2328}, {0x2388, 0x2388}, {0x23CF, 0x23CF},
	{0x23E9, 0x23F3}, {0x23F8, 0x23FA}, {0x24C2, 0x24C2}, {0x25AA, 0x25AB},
	{0x25B6, 0x25B6}, {0x25C0, 0x25C0}, {0x25FB, 0x25FE}, {0x2600, 0x2605},
	{0x2607, 0x2612}, {0x2614, 0x2685}, {0x2690, 0x2705}, {0x2708, 0x2712},
	{0x2714, 0x2714}, {0x2716, 0x2716}, {0x271D, 0x271D}, {0x2721, 0x2721},
	{0x2728, 0x2728}, {0x2733, 0x2734}, {0x2744, 0x2744}, {0x2747, 0x2747},
	{0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757},
	{0x2763, 0x2767}, {0x2795, 0x2797}, {0x27A1, 0x27A1}, {0x27B0, 0x27B0},
	{0x27BF, 0x27BF}, {0x2934, 0x2935}, {0x2B05, 0x2B07}, {0x2B1B, 0x2B1C},
	{0x2B50, 0x2B50}, {0x2B55, 0x2B55}, {0x3030, 0x3030}, {0x303D, 0x303D},
	{0x3297, 0x3297}, {0x3299, 0x3299},
	{0x1F000, 0x1F0FF}, {0x1F10D, 0x1F10F}, {0x1F12F, 0x1F12F}, {0x1F16C, 0x1F171},
	{0x1F17E, 0x1F17F}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F1AD, 0x1F1E5},
	{0x1F201, 0x1F20F}, {0x1F21A, 0x1F21A}, {0x1F22F, 0x1F22F}, {0x1F232, 0x1F23A},
	{0x1F23C, 0x1F23F}, {0x1F249, 0x1F3FA}, {0x1F400, 0x1F53D}, {0x1F546, 0x1F64F},
	{0x1F680, 0x1F6FF}, {0x1F774, 0x1F77F}, {0x1F7D5, 0x1F7FF}, {0x1F80C, 0x1F80F},
	{0x1F848, 0x1F84F}, {0x1F85A, 0x1F85F}, {0x1F888, 0x1F88F}, {0x1F8AE, 0x1F8FF},
	{0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1FAFF}, {0x1FC00, 0x1FFFD},
}

func isPictograph(r rune) bool {
	if r < 0xA9 {
		return false
	}
	lo, hi := 0, len(pictographs)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < pictographs[m][0]:
			hi = m
		case r > pictographs[m][1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// ValidSearchQuery checks a search query (4.11): 1–200 code points of text.
func ValidSearchQuery(q string) *Error {
	if strings.TrimSpace(q) == "" {
		return BadRequest("query", "required: 1 to "+strconv.Itoa(MaxSearchQuery)+" characters")
	}
	return ValidText("query", q, MaxSearchQuery)
}

// ValidUsersQuery checks a directory query (4.10): empty (everyone) or up
// to MaxUsersQuery code points of text.
func ValidUsersQuery(q string) *Error {
	return ValidText("query", q, MaxUsersQuery)
}

// ValidWatch checks a presence watch list (4.10): at most MaxWatch ids.
// Ids that are not valid or unknown are ignored by the server, not
// refused, as the protocol says for unknown ones.
func ValidWatch(ids []string) *Error {
	if len(ids) > MaxWatch {
		return BadRequest("ids", "more than "+strconv.Itoa(MaxWatch)+" ids")
	}
	return nil
}

// ValidFileName checks an uploaded file's name (section 9, decoded from
// X-Filename): 1–255 code points of text, without / or \ and not . or ..,
// so that it can never name a path.
func ValidFileName(field, name string) *Error {
	if name == "" {
		return BadRequest(field, "required")
	}
	if err := ValidText(field, name, MaxFileName); err != nil {
		return err
	}
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return BadRequest(field, "must be a file name, not a path")
	}
	for _, r := range name {
		if unicode.Is(unicode.Cf, r) {
			return BadRequest(field, "format characters are not allowed")
		}
	}
	return nil
}

// ValidFileID checks the file a message names (section 9): 1–64 of
// A-Z a-z 0-9 _ -. An id of that shape that names no file of the sender's
// is the server's 404.
func ValidFileID(field, id string) *Error {
	if id == "" {
		return BadRequest(field, "required for a message of type file")
	}
	if len(id) > MaxFileID {
		return BadRequest(field, "longer than "+strconv.Itoa(MaxFileID)+" characters")
	}
	for i := 0; i < len(id); i++ {
		if !isIDByte(id[i]) || id[i] == '.' {
			return BadRequest(field, "not a file id")
		}
	}
	return nil
}

// isIDByte reports whether c may appear in a user id: A-Z a-z 0-9 _ . -.
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// MentionCandidates returns the ids that text names as mentions by the
// syntax of PROTOCOL.md 4.7, each once (compared case-folded), in order of
// first appearance: "@" at the start or after a character that cannot be
// in an id, then the run of id characters up to the next one that cannot,
// without the dots that end it ("hi @bob." names bob). Runs that are not
// valid ids (longer than 32 characters, ALL) name no one. Whether each id
// exists and may see the message is the server's check; it keeps at most
// MaxMentions.
func MentionCandidates(text string) []string {
	var ids []string
	var seen map[string]bool // folded; ids are ASCII
	for i := 0; i < len(text); i++ {
		if text[i] != '@' || i > 0 && isIDByte(text[i-1]) {
			continue
		}
		j := i + 1
		for j < len(text) && isIDByte(text[j]) {
			j++
		}
		id := strings.TrimRight(text[i+1:j], ".")
		i = j - 1
		if ValidUserID("", id) != nil {
			continue
		}
		if k := strings.ToLower(id); !seen[k] {
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[k] = true
			ids = append(ids, id)
		}
	}
	return ids
}
