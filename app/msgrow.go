package app

import (
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// msgRow is one message of #result: a component of its own, so that when
// a View arrives go-app re-renders only the rows whose fields changed
// (it compares a component's exported fields), not every message of the
// log.
//
// Its actions (react, reply, edit, delete) show on hover and on keyboard
// focus, or after a long press on a touch screen (Open). They post
// actions: the page's own (the composer's reply and edit modes, the
// picker, the delete confirmation: Shell.handleRowActions) and the
// service's (react, seek). A row is reused for another message when the
// list shifts, so its handlers read the row's fields when they run, and
// those made per emoji carry app.EventScope (GOAPP.md section 7).
type msgRow struct {
	app.Compo

	Item       MsgItem
	Lang       string
	Everything bool // in "All messages": the reply is addressed elsewhere
	Actions    bool // the user may act on messages (logged in)
	Open       bool // a long press opened the actions
	Picking    bool // the emoji picker is open
}

// The page's actions a row posts (handled by the Shell); each carries the
// message's seq.
const (
	uiReply  = "ui/reply"  // answer the message
	uiEdit   = "ui/edit"   // edit it in the composer
	uiDelete = "ui/delete" // ask, then delete it
	uiPicker = "ui/picker" // open or close its emoji picker ("": close)
)

func (r *msgRow) t(key string) string { return tr(r.Lang, key) }

func (r *msgRow) Render() app.UI {
	m := &r.Item
	return app.Article().
		Class("msg").
		DataSet("seq", m.Seq).
		DataSet("mine", m.Mine).
		DataSet("first", m.First).
		DataSet("deleted", m.Deleted).
		DataSet("pending", m.Pending).
		DataSet("mention", m.Mention).
		DataSet("open", r.Open || r.Picking).
		Body(
			app.If(m.Day != "", func() app.UI {
				return app.Div().Class("day").Role("separator").Body(app.Span().Text(m.Day))
			}),
			app.If(m.NewLine, func() app.UI {
				return app.Div().ID("newLine").Class("new-line").Role("separator").Body(app.Span().Text(r.t("new.messages")))
			}),
			app.Div().Class("msg-row").Body(
				app.If(m.First, func() app.UI { return avatar(m.Alias) }),
				app.Div().Class("msg-body").Body(
					app.If(m.First, r.renderMeta),
					app.If(m.Reply != nil, r.renderQuote),
					r.renderText(),
					app.If(len(m.Reactions) > 0, r.renderReactions),
				),
				app.If(r.Actions && !m.Deleted, r.renderActions),
			),
		)
}

func (r *msgRow) renderMeta() app.UI {
	m := &r.Item
	return app.Div().Class("msg-meta").Body(
		app.Span().Class("msg-alias").Text(m.Alias),
		app.If(m.Alias != m.Sender, func() app.UI { return app.Span().Class("msg-id").Text("@" + m.Sender) }),
		app.If(m.Where != "", func() app.UI { return app.Span().Class("msg-where").Text(m.Where) }),
		app.Time().Class("msg-time").DateTime(m.Stamp).Title(m.Stamp).Text(m.Time),
	)
}

// renderText is the text, or "message deleted", with the edited and
// waiting markers after it (outside .msg-text, which holds the text
// alone).
func (r *msgRow) renderText() app.UI {
	m := &r.Item
	if m.Deleted {
		return app.Div().Class("msg-content").Body(
			app.P().Class("msg-text deleted").Text(r.t("msg.deleted")),
			app.If(m.Pending, func() app.UI { return app.Span().Class("msg-state").Text(r.t("pending")) }),
		)
	}
	return app.Div().Class("msg-content").Body(
		app.P().Class("msg-text").Body(richText(m.Text, m.Mentions)...),
		app.If(m.Edited != "" || m.Pending, func() app.UI {
			key := "msg.edited"
			if m.Pending {
				key = "msg.edited.pending"
			}
			return app.Span().Class("msg-state").Title(m.Edited).Text(r.t(key))
		}),
	)
}

// renderQuote is the message a reply answers; a click shows it.
func (r *msgRow) renderQuote() app.UI {
	q := r.Item.Reply
	text := q.Text
	switch {
	case q.Missing:
		text = r.t("quote.earlier")
	case q.Deleted:
		text = r.t("msg.deleted")
	}
	return app.Button().Class("quote").Type("button").
		DataSet("ref", q.Seq).
		Title(r.t("quote.show")).
		OnClick(r.onSeek).
		Body(
			app.If(q.Alias != "", func() app.UI { return app.Span().Class("quote-alias").Text(q.Alias) }),
			app.Span().Class("quote-text").Text(text),
		)
}

func (r *msgRow) renderReactions() app.UI {
	m := &r.Item
	return app.Div().Class("reactions").Body(
		app.Range(m.Reactions).Slice(func(i int) app.UI {
			x := m.Reactions[i]
			return app.Button().Class("reaction").Type("button").
				DataSet("emoji", x.Emoji).
				Aria("pressed", x.Mine).
				Aria("label", trf(r.Lang, "reaction.label", x.Emoji, strconv.Itoa(x.Count), x.Who)).
				Title(x.Who).
				Disabled(!r.Actions).
				OnClick(r.onReact(x.Emoji), app.EventScope(x.Emoji)).
				Body(
					app.Span().Class("reaction-emoji").Aria("hidden", true).Text(x.Emoji),
					app.Span().Class("reaction-count").Aria("hidden", true).Text(strconv.Itoa(x.Count)),
				)
		}),
	)
}

// renderActions is the toolbar of the message's actions, and the emoji
// picker when open.
func (r *msgRow) renderActions() app.UI {
	m := &r.Item
	replyLabel := trf(r.Lang, "reply.to.short", m.Alias)
	if r.Everything {
		replyLabel = trf(r.Lang, "reply.to", m.Alias, m.Where)
	}
	button := func(class, label, text string, action string) app.UI {
		return app.Button().Class("act "+class).Type("button").Aria("label", label).Title(label).
			Text(text).OnClick(r.post(action), app.EventScope(action))
	}
	return app.Div().Class("msg-actions").Role("toolbar").Aria("label", r.t("msg.actions")).Body(
		app.Button().Class("act react").Type("button").
			Aria("label", r.t("react.add")).Title(r.t("react.add")).Aria("expanded", r.Picking).
			Text("☺+").OnClick(r.onPicker),
		button("reply", replyLabel, r.t("reply"), uiReply),
		app.If(m.CanEdit, func() app.UI { return button("edit", r.t("edit"), r.t("edit"), uiEdit) }),
		app.If(m.CanDelete, func() app.UI { return button("delete", r.t("delete.msg"), r.t("delete.msg"), uiDelete) }),
		app.If(r.Picking, func() app.UI {
			return app.Div().Class("picker").Role("group").Aria("label", r.t("react.pick")).Body(
				app.Range(commonEmoji).Slice(func(i int) app.UI {
					e := commonEmoji[i]
					return app.Button().Class("pick").Type("button").
						Aria("label", trf(r.Lang, "react.with", e)).
						Text(e).OnClick(r.onPick(e), app.EventScope(e))
				}),
			)
		}),
	)
}

// post returns a handler posting one of the page's actions for this row.
func (r *msgRow) post(action string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) { ctx.NewActionWithValue(action, r.Item.Seq) }
}

func (r *msgRow) onPicker(ctx app.Context, _ app.Event) {
	seq := r.Item.Seq
	if r.Picking {
		seq = ""
	}
	ctx.NewActionWithValue(uiPicker, seq)
}

func (r *msgRow) onPick(emoji string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		post(ctx, actionReact, reactForm{Seq: r.Item.Seq, Emoji: emoji})
		ctx.NewActionWithValue(uiPicker, "")
	}
}

func (r *msgRow) onReact(emoji string) app.EventHandler {
	return func(ctx app.Context, _ app.Event) {
		post(ctx, actionReact, reactForm{Seq: r.Item.Seq, Emoji: emoji})
	}
}

func (r *msgRow) onSeek(ctx app.Context, _ app.Event) {
	if q := r.Item.Reply; q != nil {
		post(ctx, actionSeek, seekForm{Conv: r.Item.Conv, Seq: q.Seq})
	}
}
