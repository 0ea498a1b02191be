package log

import (
	"errors"
	"testing"
)

func TestValidConv(t *testing.T) {
	for key, ok := range map[string]bool{
		"all": true, "r:x": true, "r:a/b c": true, "d:a/b": true, "d:a/a": true, "d:a.b/c-d": true,
		"": false, "ALL": false, "r:": false, "d:": false, "d:a": false, "d:b/a": false,
		"d:/a": false, "d:a/": false, "d:a/b/c": false, "x:a": false,
	} {
		if err := ValidConv(key); (err == nil) != ok {
			t.Errorf("ValidConv(%q) = %v", key, err)
		}
	}
	if DirectConv("b", "a") != "d:a/b" || DirectConv("a", "b") != "d:a/b" || DirectConv("a", "a") != "d:a/a" {
		t.Error("DirectConv does not order its ids")
	}
}

func TestFilterMatch(t *testing.T) {
	f := Filter{Convs: []string{"all", "r:x"}, DirectOf: "u"}
	for _, c := range []struct {
		t    Topic
		want bool
	}{
		{Topic{Kind: Message, Key: "all"}, true},
		{Topic{Kind: Change, Key: "r:x", Ref: 3}, true},
		{Topic{Kind: Message, Key: "r:y"}, false},
		{Topic{Kind: Message, Key: "d:a/u"}, true},
		{Topic{Kind: Message, Key: "d:u/z"}, true},
		{Topic{Kind: Message, Key: "d:u/u"}, true},
		{Topic{Kind: Message, Key: "d:a/uu"}, false},
		{Topic{Kind: Control, Key: "r:x"}, false},
		{Topic{Kind: 0, Key: "all"}, false},
	} {
		if got := f.Match(c.t); got != c.want {
			t.Errorf("Match(%+v) = %v", c.t, got)
		}
	}
}

func TestConflictError(t *testing.T) {
	var err error = &ConflictError{Last: 7}
	if !errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) {
		t.Fatal("ConflictError is not ErrConflict")
	}
}
