package app

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// rowsView is a conversation with what issue 11 shows in a message.
func rowsView() View {
	v := sampleView()
	v.Selected = userConv("bob")
	v.Messages = []MsgItem{
		{Seq: "3", Sender: "bob", Alias: "Bob", Text: "lunch?", First: true},
		{Seq: "7", Sender: "alice", Alias: "Alice", Text: "yes", Mine: true, First: true, CanEdit: true, CanDelete: true,
			Edited: "2026-01-02T10:00:00.000Z", Reply: &Quote{Seq: "3", Alias: "Bob", Text: "lunch?"},
			Reactions: []Reaction{{Emoji: "👍", Count: 2, Mine: true, Who: "Bob, Alice"}, {Emoji: "🎉", Count: 1, Who: "Bob"}}},
		{Seq: "8", Sender: "bob", Alias: "Bob", Deleted: true},
		{Seq: "9", Sender: "bob", Alias: "Bob", Text: "@alice look @bob", NewLine: true, Mention: true, Mentions: []string{"alice"},
			Reply: &Quote{Seq: "1", Missing: true}},
	}
	return v
}

func row(t *testing.T, doc *node, seq string) *node {
	t.Helper()
	for _, r := range doc.byID("result").elements() {
		if r.attrs["data-seq"] == seq {
			return r
		}
	}
	t.Fatalf("no row %s", seq)
	return nil
}

func classed(n *node, class string) []*node {
	return n.find(func(c *node) bool { return strings.Contains(" "+c.attrs["class"]+" ", " "+class+" ") })
}

func TestMsgRow_ShowsChangesRepliesAndReactions(t *testing.T) {
	t.Parallel()
	doc, _ := render(t, &Shell{view: rowsView()})

	r := row(t, doc, "7")
	if st := classed(r, "msg-state"); len(st) != 1 || st[0].textContent() != "(edited)" {
		t.Errorf("edited marker %v", st)
	}
	if txt := classed(r, "msg-text"); len(txt) != 1 || txt[0].textContent() != "yes" {
		t.Errorf(".msg-text holds more than the text: %q", txt[0].textContent())
	}
	q := classed(r, "quote")
	if len(q) != 1 || q[0].attrs["data-ref"] != "3" || !strings.Contains(q[0].textContent(), "Bob") || !strings.Contains(q[0].textContent(), "lunch?") {
		t.Errorf("quote %v", q)
	}
	chips := classed(r, "reaction")
	if len(chips) != 2 || chips[0].attrs["data-emoji"] != "👍" || boolAttr(chips[0], "aria-pressed") != "true" ||
		boolAttr(chips[1], "aria-pressed") != "false" || !strings.Contains(chips[0].textContent(), "2") ||
		chips[0].attrs["aria-label"] != "Reaction 👍, 2: Bob, Alice" {
		t.Errorf("reaction chips %v", chips)
	}
	var acts []string
	for _, b := range classed(r, "act") {
		acts = append(acts, strings.Fields(b.attrs["class"])[1])
	}
	if strings.Join(acts, ",") != "react,reply,edit,delete" {
		t.Errorf("own message's actions %v", acts)
	}
	if acts := classed(row(t, doc, "3"), "act"); len(acts) != 2 {
		t.Errorf("someone else's message has %d actions, want react and reply", len(acts))
	}

	del := row(t, doc, "8")
	if txt := classed(del, "msg-text"); len(txt) != 1 || txt[0].textContent() != "Message deleted" || boolAttr(del, "data-deleted") != "true" {
		t.Errorf("deleted row %q", del.textContent())
	}
	if len(classed(del, "msg-actions")) != 0 {
		t.Error("a deleted message has actions")
	}

	m := row(t, doc, "9")
	if line := m.find(func(n *node) bool { return n.attrs["id"] == "newLine" }); len(line) != 1 || line[0].attrs["role"] != "separator" {
		t.Error("no new-messages line before the first unread")
	}
	if mention := classed(m, "mention"); len(mention) != 1 || mention[0].textContent() != "@alice" || boolAttr(m, "data-mention") != "true" {
		t.Errorf("mentions %v (only the server's mentions are highlighted)", mention)
	}
	if q := classed(m, "quote"); len(q) != 1 || q[0].textContent() != "An earlier message" {
		t.Errorf("quote of a message not loaded: %q", q[0].textContent())
	}

	// Logged out (the cache of the last session): nothing to act with.
	v := rowsView()
	v.LoggedIn = false
	doc, _ = render(t, &Shell{view: v})
	if n := len(classed(doc.byID("result"), "msg-actions")); n != 0 {
		t.Errorf("%d toolbars while logged out", n)
	}
}

func TestRichText_MentionsAndLinks(t *testing.T) {
	t.Parallel()
	doc := parse(t, app.HTMLString(app.P().Body(richText("hi @Bob. see https://x.org/a and @carol@x @dave", []string{"bob", "dave"})...)))
	var b strings.Builder
	for _, n := range doc.children[0].children {
		switch n.tag {
		case "span":
			b.WriteString("{" + n.textContent() + "}")
		case "a":
			b.WriteString("[" + n.textContent() + "]")
		default:
			b.WriteString(n.textContent())
		}
	}
	if got, want := strings.ReplaceAll(b.String(), " ", ""), "hi{@Bob}.see[https://x.org/a]and@carol@x{@dave}"; got != want {
		t.Fatalf("rendered %q, want %q", got, want)
	}
}

// The composer's modes, driven as the UI goroutine would.
func TestShell_ReplyAndEditModes(t *testing.T) {
	t.Parallel()
	s := &Shell{view: rowsView()}
	ctx, run := driven(t, s)
	var sent []sendForm
	var edits []editForm
	ctx.Handle(actionSend, func(_ app.Context, a app.Action) { sent = append(sent, a.Value.(sendForm)) })
	ctx.Handle(actionEdit, func(_ app.Context, a app.Action) { edits = append(edits, a.Value.(editForm)) })
	run(func(ctx app.Context) {
		s.setValue("recepientInput", "bob")
		s.setValue("chattype", shared.CommandChat)
		s.startReply("3")
	})
	doc := parse(t, app.HTMLString(s))
	if chip := doc.byID("replyChip"); chip == nil || !strings.Contains(chip.textContent(), "Replying to Bob:") || !strings.Contains(chip.textContent(), "lunch?") {
		t.Fatalf("reply chip %v", chip)
	}
	run(func(ctx app.Context) {
		s.setValue("dataInput", "at noon")
		s.onSend(ctx, app.Event{})
	})
	if len(sent) != 1 || sent[0].ReplyTo != "3" || sent[0].Text != "at noon" || s.reply != nil {
		t.Fatalf("sent %+v, reply %v", sent, s.reply)
	}

	// Up in the empty box: the last message of the user.
	run(func(ctx app.Context) { s.onComposerKey(ctx, keyEditLast) })
	doc = parse(t, app.HTMLString(s))
	if s.value("dataInput") != "yes" || doc.byID("editChip") == nil || doc.byID("sendButton").textContent() != "Save" {
		t.Fatalf("edit mode: box %q", s.value("dataInput"))
	}
	run(func(ctx app.Context) { s.onComposerKey(ctx, keyCancel) })
	if s.editing != nil || s.value("dataInput") != "" {
		t.Fatal("Escape kept the edit")
	}
	run(func(ctx app.Context) {
		s.startEdit("7")
		s.setValue("dataInput", "yes, at noon")
		s.onSend(ctx, app.Event{})
	})
	if len(edits) != 1 || edits[0] != (editForm{Seq: "7", Text: "yes, at noon"}) || s.editing != nil {
		t.Fatalf("edits %+v", edits)
	}
	run(func(ctx app.Context) { s.startEdit("3") }) // not hers
	if s.editing != nil {
		t.Fatal("editing someone else's message")
	}
	// An edit emptied asks to delete the message.
	run(func(ctx app.Context) {
		s.startEdit("7")
		s.setValue("dataInput", " ")
		s.onSend(ctx, app.Event{})
	})
	if s.dialog != dlgConfirm || s.confirm == nil || s.confirm.msg == nil || s.confirm.msg.Seq != "7" {
		t.Fatalf("dialog %q, confirm %+v", s.dialog, s.confirm)
	}
	if txt := parse(t, app.HTMLString(s)).byID("confirmText").textContent(); !strings.Contains(txt, "“yes” will be deleted for everyone") {
		t.Fatalf("confirmation %q", txt)
	}

	// Picking from the @ list puts the id in place of what was typed.
	run(func(ctx app.Context) {
		s.setValue("dataInput", "hi @bo")
		s.mention = mentionState{open: true, query: "bo"}
		s.pickMention(ctx, "bob")
	})
	if got := s.value("dataInput"); got != "hi @bob " || s.mention.open {
		t.Fatalf("after the pick: %q, open %v", got, s.mention.open)
	}
}
