package app

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"chatapp/shared"
)

// The composer: the reply or edit chip, the collapsed address row
// (#recepientInput and #chattype follow the selected conversation; power
// users and tests may still type into them), the @ completion list, the
// message box and its counter near the limit.
//
// Keys in the message box: Enter sends (or saves an edit), Shift+Enter
// adds a line, Up in an empty box edits the user's last message, Escape
// cancels an edit or a reply; while the completion list is open, Up and
// Down move in it, Enter or Tab picks, Escape closes it.

// mentionState is the @ being typed in the message box.
type mentionState struct {
	open   bool
	query  string // what follows the @
	active int    // the highlighted entry of the list
}

// mentionRe finds an @ being typed: the text before the caret ends with
// @ and the start of an id, the @ at the start or after a character that
// cannot be part of an id.
var mentionAtRe = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.\-])@([A-Za-z0-9_.\-]{0,32})$`)

// mentionAt returns what follows the @ being typed at the end of before
// (the text before the caret), and where that @ is.
func mentionAt(before string) (query string, at int, ok bool) {
	loc := mentionAtRe.FindStringSubmatchIndex(before)
	if loc == nil {
		return "", 0, false
	}
	return before[loc[2]:loc[3]], loc[2] - 1, true
}

func (s *Shell) renderComposer() app.UI {
	v := &s.view
	to := s.value("recepientInput")
	if !app.IsClient && s.values == nil {
		to = v.ToRecipient
	}
	summary := s.t("address.none")
	if to != "" {
		summary = trf(s.lang(), "address.to", to)
	}
	over := s.draft > maxText
	mode := ""
	switch {
	case s.editing != nil:
		mode = "edit"
	case s.reply != nil:
		mode = "reply"
	}
	users := s.mentionList()
	box := app.Textarea().ID("dataInput").Class("field message").Rows(1).
		Placeholder(s.t("message.placeholder")).Aria("label", s.t("message")).Title(s.t("message.keys")).
		Attr("enterkeyhint", "send").Attr("autocomplete", "off").
		Aria("describedby", "charCount").
		Aria("autocomplete", "list").Aria("controls", "mentionList").
		OnInput(s.onDraft)
	if len(users) > 0 {
		box = box.Aria("activedescendant", "mention-"+strconv.Itoa(s.mention.active))
	}
	return app.Footer().Class("composer").DataSet("mode", mode).Aria("label", s.t("composer")).Body(
		slot(s.reply != nil, s.renderReplyChip),
		slot(s.editing != nil, func() app.UI {
			return app.Div().ID("editChip").Class("reply-chip").Body(
				app.Span().Text(s.t("editing")),
				app.Button().ID("editCancel").Class("chip").Type("button").
					Aria("label", s.t("edit.cancel")).Text("✕").OnClick(s.onCancelMode),
			)
		}),
		app.Details().ID("addressRow").Class("address").Body(
			app.Summary().ID("addressSummary").Text(summary),
			app.Div().Class("composer-to").Body(
				app.Label().Class("inline").For("recepientInput").Text(s.t("recipient")),
				app.Input().ID("recepientInput").Type("text").Class("field").
					Value(v.ToRecipient).Placeholder(s.t("recipient.placeholder")).
					AutoComplete(false).Spellcheck(false).Attr("autocapitalize", "none").
					OnInput(s.onAddress),
				app.Select().ID("chattype").Class("field").Aria("label", s.t("chattype")).OnChange(s.onAddress).Body(
					app.Option().Value(shared.CommandChat).Text(s.t("chat")),
					app.Option().Value(shared.CommandGroupchat).Text(s.t("groupchat")),
				),
			),
		),
		app.Ul().ID("mentionList").Class("mentions").Role("listbox").Aria("label", s.t("mention.list")).
			Hidden(len(users) == 0).Body(
			app.Range(users).Slice(func(i int) app.UI {
				u := users[i]
				return app.Li().ID("mention-"+strconv.Itoa(i)).Class("mention-option").Role("option").
					DataSet("user-id", u.ID).
					Aria("selected", i == s.mention.active).
					OnClick(s.onPickMention(u.ID), app.EventScope(u.ID)).
					Body(
						avatar(u.Alias),
						app.Span().Class("conv-name").Text(u.Alias),
						app.Span().Class("conv-sub").Text("@"+u.ID),
					)
			}),
		),
		app.Div().Class("composer-main").Body(
			box,
			app.Button().ID("sendButton").Class("primary").Type("button").
				Text(s.t(map[bool]string{true: "save", false: "send"}[s.editing != nil])).OnClick(s.onSend),
		),
		app.Div().Class("composer-foot").Body(
			app.Span().ID("charCount").Class("count").
				DataSet("over", over).
				Hidden(s.draft < maxText*9/10).
				Text(strconv.Itoa(s.draft)+" / "+strconv.Itoa(maxText)),
			s.notice("sendNotice", "send"),
		),
	)
}

// renderReplyChip says what the next message answers.
func (s *Shell) renderReplyChip() app.UI {
	r := s.reply
	label := trf(s.lang(), "replying", r.Alias)
	if r.Where != "" {
		label = trf(s.lang(), "reply.to", r.Alias, r.Where)
	}
	return app.Div().ID("replyChip").Class("reply-chip").Body(
		app.Span().Class("reply-label").Text(label),
		app.Span().Class("quote-text").Text(clip(r.Text, 80)),
		app.Button().ID("replyCancel").Class("chip").Type("button").
			Aria("label", s.t("reply.cancel")).Text("✕").OnClick(s.onCancelMode),
	)
}

// mentionList returns the completion list to show: the View's answer to
// the query being typed, if it is that query's.
func (s *Shell) mentionList() []UserItem {
	v := &s.view
	if !s.mention.open || !v.MentionOpen || v.MentionQuery != s.mention.query {
		return nil
	}
	return v.Mentions
}

// onAddress re-renders the address summary after the fields were edited.
func (s *Shell) onAddress(ctx app.Context, _ app.Event) {}

// onDraft follows the message box as the person types: the counter near
// the limit, the @ completion, and "typing" for the others.
func (s *Shell) onDraft(ctx app.Context, e app.Event) {
	el := e.Get("target")
	text := el.Get("value").String()
	s.draft = utf8.RuneCountInString(text)
	before, _ := atCaret(el, text)
	q, _, open := mentionAt(before)
	if open != s.mention.open || q != s.mention.query {
		s.mention = mentionState{open: open, query: q}
		post(ctx, actionMention, mentionForm{Query: q, Open: open})
	}
	if strings.TrimSpace(text) != "" && s.editing == nil {
		post(ctx, actionTyping, s.view.Selected)
	}
}

// closeMention closes the completion list.
func (s *Shell) closeMention(ctx app.Context) {
	if s.mention.open {
		s.mention = mentionState{}
		post(ctx, actionMention, mentionForm{})
	}
}

// onPickMention puts @id in place of the @ being typed.
func (s *Shell) onPickMention(id string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) { s.pickMention(ctx, id) }
}

func (s *Shell) pickMention(ctx app.Context, id string) {
	el := app.Window().GetElementByID("dataInput")
	before, after := atCaret(el, s.value("dataInput"))
	_, at, ok := mentionAt(before)
	if !ok {
		return
	}
	head := before[:at] + "@" + id + " "
	s.setValue("dataInput", head+after)
	s.closeMention(ctx)
	if app.IsClient && el.Truthy() {
		n := len(utf16.Encode([]rune(head)))
		el.Call("focus")
		el.Call("setSelectionRange", n, n)
	}
}

// atCaret splits the text of a text field at its caret; without a
// browser (tests) the caret is at the end. The browser counts the caret
// in UTF-16 units.
func atCaret(el app.Value, text string) (before, after string) {
	if !app.IsClient || !el.Truthy() {
		return text, ""
	}
	u := utf16.Encode([]rune(text))
	n := min(max(el.Get("selectionStart").Int(), 0), len(u))
	return string(utf16.Decode(u[:n])), string(utf16.Decode(u[n:]))
}

// onSend sends the message box: a new message (a reply when one is being
// answered), or the new text of the message being edited. Text refused
// by the local checks stays in the box.
func (s *Shell) onSend(ctx app.Context, _ app.Event) {
	text := s.value("dataInput")
	s.closeMention(ctx)
	if e := s.editing; e != nil {
		if strings.TrimSpace(text) == "" { // emptied: deleting is what was meant
			s.askDeleteMessage(*e)
			return
		}
		if text != e.Text {
			post(ctx, actionEdit, editForm{Seq: e.Seq, Text: text})
		}
		s.editing = nil
		s.clearBox()
		return
	}
	f := sendForm{Recipient: s.value("recepientInput"), Command: s.value("chattype"), Text: text}
	if s.reply != nil {
		f.ReplyTo = s.reply.Seq
	}
	if _, err := checkSend(f); err == nil && s.view.LoggedIn {
		s.clearBox() // it is in the outbox now
		if s.reply != nil {
			s.reply = nil
			s.setValue("recepientInput", s.view.ToRecipient)
			s.setValue("chattype", s.view.ToCommand)
		}
	}
	post(ctx, actionSend, f)
}

func (s *Shell) clearBox() {
	s.setValue("dataInput", "")
	s.draft = 0
}

// startReply answers message seq: the chip shows it, and in "All
// messages" the composer addresses its conversation.
func (s *Shell) startReply(seq string) {
	m, ok := s.message(seq)
	if !ok {
		return
	}
	if s.editing != nil {
		s.editing = nil
		s.clearBox()
	}
	s.reply = &m
	if m.To != "" {
		s.setValue("recepientInput", m.To)
		s.setValue("chattype", m.Command)
	}
	focusID("dataInput")
}

// startEdit puts one of the user's messages in the composer to edit.
func (s *Shell) startEdit(seq string) {
	m, ok := s.message(seq)
	if !ok || !m.CanEdit {
		return
	}
	s.cancelReply()
	s.editing = &m
	s.setValue("dataInput", m.Text)
	s.draft = utf8.RuneCountInString(m.Text)
	focusID("dataInput")
}

// editLast edits the user's last message shown (Up in an empty box).
func (s *Shell) editLast() {
	for i := len(s.view.Messages) - 1; i >= 0; i-- {
		if m := s.view.Messages[i]; m.CanEdit {
			s.startEdit(m.Seq)
			return
		}
	}
}

func (s *Shell) onCancelMode(ctx app.Context, _ app.Event) {
	s.cancelMode()
	focusID("dataInput")
}

// cancelMode ends an edit (the box empties) or a reply (the text stays).
func (s *Shell) cancelMode() {
	if s.editing != nil {
		s.editing = nil
		s.clearBox()
	}
	s.cancelReply()
}

func (s *Shell) cancelReply() {
	if s.reply == nil {
		return
	}
	s.reply = nil
	s.setValue("recepientInput", s.view.ToRecipient)
	s.setValue("chattype", s.view.ToCommand)
}

// message returns the shown message seq.
func (s *Shell) message(seq string) (MsgItem, bool) {
	for _, m := range s.view.Messages {
		if m.Seq == seq {
			return m, true
		}
	}
	return MsgItem{}, false
}

// The keys of the message box the page acts on (composerKey).
const (
	keyNone = iota
	keySend
	keyEditLast
	keyCancel
	keyNext // the completion list
	keyPrev
	keyPick
	keyClose
)

// listenKeys handles the message box's keys. go-app runs handlers on its
// UI goroutine after the event, too late to stop the browser's own action
// (a newline, the caret moving), so this listener is the browser's own:
// it decides from the event and the page as rendered, calls
// preventDefault while the event is dispatched, and hands the rest to the
// UI goroutine. keypress too: a synthetic Enter (CDP's char event) may
// still arrive there after a cancelled keydown. Escape elsewhere closes a
// message's open actions.
func (s *Shell) listenKeys(ctx app.Context) {
	doc := app.Window().Get("document")
	for _, name := range []string{"keydown", "keypress"} {
		doc.Call("addEventListener", name, app.FuncOf(func(_ app.Value, args []app.Value) any {
			e := app.Event{Value: args[0]}
			target := e.Get("target")
			if target.Get("id").String() != "dataInput" {
				if name == "keydown" && e.Get("key").String() == "Escape" && doc.Call("querySelector", `#result [data-open="true"]`).Truthy() {
					ctx.Dispatch(func(ctx app.Context) { s.picker, s.actions = "", "" })
				}
				return nil
			}
			k := composerKey(e, target)
			if k == keyNone {
				return nil
			}
			e.PreventDefault()
			if name == "keydown" {
				ctx.Dispatch(func(ctx app.Context) { s.onComposerKey(ctx, k) })
			}
			return nil
		}))
	}
}

// composerKey tells what a key in the message box does, from the event
// and the page as rendered.
func composerKey(e app.Event, box app.Value) int {
	key := e.Get("key").String()
	if e.Get("isComposing").Bool() || e.Get("keyCode").Int() == 229 {
		return keyNone // an IME composes (Korean syllables): its keys are its own
	}
	plain := !e.Get("shiftKey").Bool() && !e.Get("altKey").Bool() && !e.Get("ctrlKey").Bool() && !e.Get("metaKey").Bool()
	doc := app.Window().Get("document")
	list := doc.Call("getElementById", "mentionList")
	listOpen := list.Truthy() && !list.Get("hidden").Bool()
	switch {
	case listOpen && key == "ArrowDown":
		return keyNext
	case listOpen && key == "ArrowUp":
		return keyPrev
	case listOpen && (key == "Enter" || key == "\r" || key == "Tab") && plain:
		return keyPick
	case listOpen && key == "Escape":
		return keyClose
	case isEnter(e):
		return keySend
	case key == "ArrowUp" && plain && box.Get("value").String() == "":
		return keyEditLast
	case key == "Escape":
		if c := doc.Call("querySelector", ".composer"); c.Truthy() && c.Get("dataset").Get("mode").String() != "" {
			return keyCancel
		}
	}
	return keyNone
}

func (s *Shell) onComposerKey(ctx app.Context, k int) {
	n := len(s.mentionList())
	switch k {
	case keySend:
		s.onSend(ctx, app.Event{})
	case keyEditLast:
		s.editLast()
	case keyCancel:
		s.cancelMode()
	case keyNext, keyPrev:
		if n > 0 {
			d := map[bool]int{true: 1, false: n - 1}[k == keyNext]
			s.mention.active = (s.mention.active + d) % n
		}
	case keyPick:
		if users := s.mentionList(); n > 0 {
			s.pickMention(ctx, users[min(s.mention.active, n-1)].ID)
		}
	case keyClose:
		s.closeMention(ctx)
	}
}

// isEnter reports a plain Enter that is not finishing an IME composition
// (Korean input composes syllables; its Enter must not send).
func isEnter(e app.Event) bool {
	key := e.Get("key").String()
	return (key == "Enter" || key == "\r") && !e.Get("isComposing").Bool() &&
		e.Get("keyCode").Int() != 229 && !e.Get("shiftKey").Bool()
}
