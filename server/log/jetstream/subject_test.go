package jetstream

import (
	"strings"
	"testing"

	chatlog "chatapp/server/log"
)

func TestSubjects(t *testing.T) {
	cases := []struct {
		t    chatlog.Topic
		want string
	}{
		{chatlog.Topic{Kind: chatlog.Message, Key: "all"}, "chat.all.m"},
		{chatlog.Topic{Kind: chatlog.Change, Key: "all", Ref: 42}, "chat.all.c.42"},
		{chatlog.Topic{Kind: chatlog.Message, Key: "r:a"}, "chat.room." + token("a") + ".m"},
		{chatlog.Topic{Kind: chatlog.Message, Key: "d:a.b/c"}, "chat.dm." + token("a.b") + "." + token("c") + ".m"},
		{chatlog.Topic{Kind: chatlog.Change, Key: "d:x/x", Ref: 7}, "chat.dm." + token("x") + "." + token("x") + ".c.7"},
		{chatlog.Topic{Kind: chatlog.Control, Key: "r:a"}, "chat.ctl.room." + token("a")},
		{chatlog.Topic{Kind: chatlog.Control, Key: "u:bob"}, "chat.ctl.user." + token("bob")},
	}
	for _, c := range cases {
		got, err := subject("chat", c.t)
		if err != nil || got != c.want {
			t.Errorf("subject(%+v) = %q, %v; want %q", c.t, got, err, c.want)
			continue
		}
		back, err := topic("chat", got)
		if err != nil || back != c.t {
			t.Errorf("topic(%q) = %+v, %v; want %+v", got, back, err, c.t)
		}
	}
	if token("a.b") == "a.b" || strings.ContainsAny(token("a.b *>"), ".*> ") {
		t.Fatal("tokens keep subject syntax")
	}
}

func TestTopicRefusesForeignSubjects(t *testing.T) {
	for _, s := range []string{
		"chat", "chat.", "other.all.m", "chat.all", "chat.all.x", "chat.all.c", "chat.all.c.0",
		"chat.all.c.01", "chat.all.c.x", "chat.all.m.m", "chat.room.m", "chat.room.!!.m",
		"chat.dm." + token("a") + ".m", "chat.ctl.room", "chat.ctl.team." + token("a"),
		"chat.room." + token("a") + "1.m",                 // not canonical base32
		"chat.dm." + token("b") + "." + token("a") + ".m", // not in order
	} {
		if tp, err := topic("chat", s); err == nil {
			t.Errorf("topic(%q) = %+v, want an error", s, tp)
		}
	}
}

func TestFilterSubjects(t *testing.T) {
	u, v := token("u"), token("v")
	got, err := filterSubjects("chat", chatlog.Filter{
		Convs:    []string{"all", "r:a", "d:u/v", "d:v/w", "all"},
		DirectOf: "u",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"chat.dm." + u + ".*.>", "chat.dm.*." + u + ".>",
		"chat.all.>", "chat.room." + token("a") + ".>", "chat.dm." + v + "." + token("w") + ".>",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("filterSubjects = %v\nwant %v", got, want)
	}
}

// FuzzSubject: every valid topic has a subject of clean tokens that
// decodes back to it; nothing panics.
func FuzzSubject(f *testing.F) {
	f.Add(uint8(1), "all", "", uint64(0))
	f.Add(uint8(2), "r:", "größe.* >", uint64(9))
	f.Add(uint8(1), "d:", "a.b/c-d", uint64(0))
	f.Add(uint8(3), "u:", "bob", uint64(0))
	f.Fuzz(func(t *testing.T, kind uint8, prefix, id string, ref uint64) {
		tp := chatlog.Topic{Kind: chatlog.Kind(kind % 4), Key: prefix + id, Ref: ref}
		subj, err := subject("chat", tp)
		if err != nil {
			if tp.Valid() == nil {
				t.Fatalf("valid topic %+v refused: %v", tp, err)
			}
			return
		}
		for _, tok := range strings.Split(subj, ".") {
			if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
				t.Fatalf("subject %q of %+v has a bad token", subj, tp)
			}
		}
		back, err := topic("chat", subj)
		if err != nil || back != tp {
			t.Fatalf("topic(subject(%+v)) = %+v, %v", tp, back, err)
		}
	})
}
