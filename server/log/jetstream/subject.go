package jetstream

import (
	"encoding/base32"
	"fmt"
	"strconv"
	"strings"

	chatlog "chatapp/server/log"
)

// Subjects (docs/CLUSTER.md 2), under the prefix p (default "chat"):
//
//	p.all.m                 p.all.c.<ref>
//	p.room.<R>.m            p.room.<R>.c.<ref>
//	p.dm.<A>.<B>.m          p.dm.<A>.<B>.c.<ref>
//	p.ctl.room.<R>          p.ctl.user.<U>
//
// Ids never appear raw: user ids may hold ".", a subject's separator, and
// room ids almost any character ("*", ">", spaces, any script). A token is
// the lower-case base32hex of the folded id's UTF-8 bytes, without
// padding: only 0-9 and a-v, one token per id, reversible, and in the
// same byte order as the ids (so lo <= hi holds for the tokens too).
var tokenEnc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

func token(id string) string { return tokenEnc.EncodeToString([]byte(id)) }

func untoken(tok string) (string, error) {
	b, err := tokenEnc.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("bad subject token %q", tok)
	}
	// Decoding is not unique for some inputs (unused trailing bits);
	// accept only the canonical form, so one id has one subject.
	if token(string(b)) != tok {
		return "", fmt.Errorf("non-canonical subject token %q", tok)
	}
	return string(b), nil
}

// convSubject is the subject prefix of a conversation's events, without
// the trailing ".m" or ".c.<ref>".
func convSubject(p, key string) (string, error) {
	if err := chatlog.ValidConv(key); err != nil {
		return "", err
	}
	switch {
	case key == "all":
		return p + ".all", nil
	case strings.HasPrefix(key, "r:"):
		return p + ".room." + token(key[2:]), nil
	default:
		lo, hi, _ := strings.Cut(key[2:], "/")
		return p + ".dm." + token(lo) + "." + token(hi), nil
	}
}

// subject returns where an event of topic t is published.
func subject(p string, t chatlog.Topic) (string, error) {
	if err := t.Valid(); err != nil {
		return "", err
	}
	switch t.Kind {
	case chatlog.Message, chatlog.Change:
		s, err := convSubject(p, t.Key)
		if err != nil {
			return "", err
		}
		if t.Kind == chatlog.Message {
			return s + ".m", nil
		}
		return s + ".c." + strconv.FormatUint(t.Ref, 10), nil
	default: // Control; Valid checked the prefix
		if strings.HasPrefix(t.Key, "r:") {
			return p + ".ctl.room." + token(t.Key[2:]), nil
		}
		return p + ".ctl.user." + token(t.Key[2:]), nil
	}
}

// topic is the inverse of subject.
func topic(p, subj string) (chatlog.Topic, error) {
	rest, ok := strings.CutPrefix(subj, p+".")
	if !ok {
		return chatlog.Topic{}, fmt.Errorf("subject %q outside %q", subj, p)
	}
	f := strings.Split(rest, ".")
	bad := fmt.Errorf("unknown subject %q", subj)
	var key string
	var tail []string
	switch {
	case f[0] == "all":
		key, tail = "all", f[1:]
	case f[0] == "room" && len(f) >= 2:
		id, err := untoken(f[1])
		if err != nil {
			return chatlog.Topic{}, err
		}
		key, tail = "r:"+id, f[2:]
	case f[0] == "dm" && len(f) >= 3:
		lo, err := untoken(f[1])
		if err != nil {
			return chatlog.Topic{}, err
		}
		hi, err := untoken(f[2])
		if err != nil {
			return chatlog.Topic{}, err
		}
		key, tail = "d:"+lo+"/"+hi, f[3:]
	case f[0] == "ctl" && len(f) == 3 && (f[1] == "room" || f[1] == "user"):
		id, err := untoken(f[2])
		if err != nil {
			return chatlog.Topic{}, err
		}
		t := chatlog.Topic{Kind: chatlog.Control, Key: f[1][:1] + ":" + id}
		return t, t.Valid()
	default:
		return chatlog.Topic{}, bad
	}
	var t chatlog.Topic
	switch {
	case len(tail) == 1 && tail[0] == "m":
		t = chatlog.Topic{Kind: chatlog.Message, Key: key}
	case len(tail) == 2 && tail[0] == "c":
		ref, err := strconv.ParseUint(tail[1], 10, 64)
		if err != nil || ref == 0 || strconv.FormatUint(ref, 10) != tail[1] {
			return chatlog.Topic{}, bad
		}
		t = chatlog.Topic{Kind: chatlog.Change, Key: key, Ref: ref}
	default:
		return chatlog.Topic{}, bad
	}
	return t, t.Valid()
}

// filterSubjects returns the subject filters of f: one wildcard per
// conversation and two for a user's direct conversations. None is a
// subset of another (the server refuses overlapping filters), because a
// conversation is listed once and a user's two direct wildcards differ in
// which position they fix.
func filterSubjects(p string, f chatlog.Filter) ([]string, error) {
	if err := f.Valid(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	var u string
	if f.DirectOf != "" {
		u = token(f.DirectOf)
		add(p + ".dm." + u + ".*.>")
		add(p + ".dm.*." + u + ".>")
	}
	for _, c := range f.Convs {
		if f.DirectOf != "" && strings.HasPrefix(c, "d:") {
			lo, hi, _ := strings.Cut(c[2:], "/")
			if lo == f.DirectOf || hi == f.DirectOf {
				continue // covered by the wildcards, and would overlap them
			}
		}
		s, err := convSubject(p, c)
		if err != nil {
			return nil, err
		}
		add(s + ".>")
	}
	return out, nil
}
