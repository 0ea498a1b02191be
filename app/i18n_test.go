package app

import (
	"strings"
	"testing"

	"chatapp/shared"
)

func TestPickLang(t *testing.T) {
	t.Parallel()
	for tag, want := range map[string]string{"ko": langKO, "ko-KR": langKO, "KO-kr": langKO, "en-US": langEN, "": langEN, "ja": langEN} {
		if got := pickLang(tag); got != want {
			t.Errorf("pickLang(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestTexts_BothLanguages(t *testing.T) {
	t.Parallel()
	for k, v := range texts {
		if v[0] == "" || v[1] == "" {
			t.Errorf("text %q lacks a translation: %q", k, v)
		}
		if strings.Count(v[0], "%s") != strings.Count(v[1], "%s") {
			t.Errorf("text %q: the languages have different placeholders", k)
		}
	}
}

// TestHuman covers the answers of PROTOCOL.md section 3 as the server words
// them (server/handlers.go) and the validators' messages.
func TestHuman(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command, roomCmd, code, msg string
		en, ko                      string
	}{
		{"login", "", "401", "unknown id or wrong password", "Wrong id or password.", "아이디 또는 비밀번호가 틀렸습니다."},
		{"login", "", "429", "too many failed logins; wait and try again", "Too many attempts. Wait a moment and try again.", "시도가 너무 많습니다. 잠시 후 다시 시도하세요."},
		{"login", "", "400", "invalid password: shorter than 6 characters", "Check the password: it is too short (at least 6 characters).", "비밀번호 항목을 확인하세요: 너무 짧습니다 (6자 이상)."},
		{"login", "", "400", "invalid id: only letters A-Z, digits and _ . - are allowed", "Check the ID: use only letters A–Z, digits and _ . -.", ""},
		{"room", "create", "409", "room x already exists", "That room already exists.", "이미 있는 대화방입니다."},
		{"room", "delete", "403", "only the owner may delete the room", "Only the room's owner can do that.", "방장만 할 수 있습니다."},
		{"room", "join", "404", "no such room x", "No such room.", "그런 대화방이 없습니다."},
		{"room", "create", "401", "log in first", "Log in first.", "먼저 로그인하세요."},
		{"message", "", "403", "join the room first", "Join the room first.", "먼저 대화방에 참여하세요."},
		{"message", "", "404", "no such user zed", "No such user.", "그런 사용자가 없습니다."},
		{"message", "", "413", "data is longer than 4000 characters", "The message is too long.", "메시지가 너무 깁니다."},
		{"message", "", "429", "too many requests; slow down", "Too many requests. Slow down a little.", ""},
		{"message", "", "500", "server error; try again", "The server failed. Try again.", ""},
		{"message", "", "400", "invalid recepient: required", "Check the recipient: it is required.", "받는 사람 항목을 확인하세요: 필수입니다."},
		{"message", "", "418", "teapot", "Refused: teapot", "거절됨: teapot"},
	}
	for _, tt := range tests {
		if got := human(langEN, tt.command, tt.roomCmd, tt.code, tt.msg); got != tt.en {
			t.Errorf("%s %s %s: %q, want %q", tt.command, tt.code, tt.msg, got, tt.en)
		}
		if tt.ko == "" {
			continue
		}
		if got := human(langKO, tt.command, tt.roomCmd, tt.code, tt.msg); got != tt.ko {
			t.Errorf("ko %s %s %s: %q, want %q", tt.command, tt.code, tt.msg, got, tt.ko)
		}
	}
}

func TestCheckSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f       sendForm
		wantErr string
		wantTo  string
	}{
		{sendForm{Recipient: " all ", Command: "chat", Text: "hi"}, "", shared.All},
		{sendForm{Recipient: "bob", Command: "chat", Text: "hi"}, "", "bob"},
		{sendForm{Recipient: "방 1", Command: "groupchat", Text: "hi"}, "", "방 1"},
		{sendForm{Recipient: "", Command: "chat", Text: "hi"}, "Pick a conversation, or reply to a message, first.", ""},
		{sendForm{Recipient: "bob!", Command: "chat", Text: "hi"}, "Check the recipient: use only letters", ""},
		{sendForm{Recipient: "bob", Command: "chat", Text: "   "}, "Check the message: it is empty.", ""},
		{sendForm{Recipient: "bob", Command: "shout", Text: "hi"}, "Check the kind: pick chat or groupchat.", ""},
		{sendForm{Recipient: "bob", Command: "chat", Text: strings.Repeat("가", shared.DefaultMaxText+1)}, "The message is too long.", ""},
		{sendForm{Recipient: "bob", Command: "chat", Text: "yes", ReplyTo: "12"}, "", "bob"},
		{sendForm{Recipient: "bob", Command: "chat", Text: "yes", ReplyTo: "twelve"}, "Check the message replied to: not a seq.", ""},
	}
	for _, tt := range tests {
		f, err := checkSend(tt.f)
		if tt.wantErr == "" {
			if err != nil || f.Recipient != tt.wantTo {
				t.Errorf("%+v: %v, recipient %q", tt.f, err, f.Recipient)
			}
			continue
		}
		if err == nil {
			t.Errorf("%+v: no error, want %q", tt.f, tt.wantErr)
		} else if got := sendRefusal(err).text(langEN); !strings.HasPrefix(got, tt.wantErr) {
			t.Errorf("%+v: error %q, want %q", tt.f, got, tt.wantErr)
		}
	}
}

func TestCheckLoginAndRoom(t *testing.T) {
	t.Parallel()
	text := func(command, roomCmd string, err *shared.Error) string {
		if err == nil {
			return ""
		}
		return invalid(command, roomCmd, err).text(langEN)
	}
	if got := text("login", "", checkLogin(loginForm{ID: "ALL", Password: "x"})); !strings.Contains(got, "ALL is reserved") {
		t.Errorf("login as ALL: %q", got)
	}
	if got := text("login", "", checkLogin(loginForm{ID: "amy", Password: ""})); got != "Check the password: it is required." {
		t.Errorf("empty password: %q", got)
	}
	if got := text("login", "", checkLogin(loginForm{ID: "amy", Password: "secret", Alias: "A"})); got != "" {
		t.Errorf("good login: %q", got)
	}
	if got := text("room", "create", checkRoom(roomForm{Command: "create", ID: "r"})); got != "Check the room name: it is required." {
		t.Errorf("room without name: %q", got)
	}
	if got := text("room", "join", checkRoom(roomForm{Command: "join", ID: "r"})); got != "" {
		t.Errorf("join: %q", got)
	}
	// A notice is worded when shown: the same one in Korean.
	n := invalid("room", "create", checkRoom(roomForm{Command: "create", ID: "r"}))
	if got := n.text(langKO); got != "방 이름 항목을 확인하세요: 필수입니다." {
		t.Errorf("in Korean: %q", got)
	}
}
