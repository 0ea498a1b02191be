package app

import (
	"strings"

	"chatapp/shared"
)

// Languages of the UI. The browser's language picks one (Korean for ko-*,
// else English); the switch in the sidebar overrides it and is remembered.
const (
	langEN = "en"
	langKO = "ko"
)

// pickLang maps a BCP 47 tag (navigator.language) to a UI language.
func pickLang(tag string) string {
	if strings.HasPrefix(strings.ToLower(tag), "ko") {
		return langKO
	}
	return langEN
}

// texts are the UI strings: key → {English, Korean}.
var texts = map[string][2]string{
	"title":           {"chatapp", "chatapp"},
	"state.connected": {"Connected", "연결됨"},
	"state.connecting": {
		"Connecting…", "연결 중…"},
	"state.offline": {"Offline", "오프라인"},
	"lang.switch":   {"한국어", "English"},
	"install":       {"Install app", "앱 설치"},
	"update":        {"Update available", "새 버전이 있습니다"},
	"update.reload": {"Reload", "새로고침"},
	"menu":          {"Conversations", "대화 목록"},
	"close":         {"Close", "닫기"},

	"server":        {"Server", "서버"},
	"host":          {"Host", "호스트"},
	"port":          {"Port", "포트"},
	"connect":       {"Connect", "연결"},
	"connect.same":  {"Already connected to this server.", "이미 이 서버에 연결되어 있습니다."},
	"connect.retry": {"Connecting…", "연결하는 중…"},

	"login.title":   {"Log in or sign up", "로그인 또는 가입"},
	"login.lead":    {"A new id creates an account.", "새 아이디를 쓰면 계정이 만들어집니다."},
	"id":            {"ID", "아이디"},
	"password":      {"Password", "비밀번호"},
	"alias":         {"Display name", "별명"},
	"today":         {"Status", "상태 메시지"},
	"optional":      {"optional", "선택"},
	"login":         {"Log in", "로그인"},
	"logout":        {"Log out", "로그아웃"},
	"logging.in":    {"Logging in…", "로그인하는 중…"},
	"login.wait":    {"Logging in as soon as the connection is up…", "연결되면 바로 로그인합니다…"},
	"logged.in":     {"Logged in.", "로그인했습니다."},
	"not.logged.in": {"Not logged in", "로그인하지 않음"},

	"everything":   {"All messages", "모든 메시지"},
	"everyone":     {"Everyone", "모두에게"},
	"everyone.sub": {"Messages to ALL", "ALL에게 보낸 메시지"},
	"rooms":        {"Rooms", "대화방"},
	"no.rooms":     {"No rooms yet.", "아직 대화방이 없습니다."},
	"members":      {"%s members", "%s명"},
	"joined":       {"joined", "참여 중"},
	"owner":        {"owner", "방장"},
	"people":       {"People", "사람들"},
	"online":       {"online", "접속 중"},
	"offline":      {"offline", "오프라인"},
	"no.people":    {"Nobody here yet.", "아직 아무도 없습니다."},
	"you":          {"you", "나"},
	"room.id":      {"Room ID", "방 아이디"},
	"room.name":    {"Room name", "방 이름"},
	"room.create":  {"Create", "만들기"},
	"room.update":  {"Rename", "이름 바꾸기"},
	"room.delete":  {"Delete", "삭제"},
	"room.join":    {"Join", "참여"},
	"room.leave":   {"Leave", "나가기"},
	"room.manage":  {"Manage rooms", "대화방 관리"},
	"room.done.create": {
		"Room created.", "대화방을 만들었습니다."},
	"room.done.update": {"Room renamed.", "방 이름을 바꿨습니다."},
	"room.done.delete": {"Room deleted.", "대화방을 삭제했습니다."},
	"room.done.join":   {"Joined.", "참여했습니다."},
	"room.done.leave":  {"Left the room.", "대화방에서 나왔습니다."},
	"room.gone":        {"This room was deleted.", "이 대화방은 삭제되었습니다."},
	"room.join.hint":   {"Join this room to read and write here.", "이 대화방에 참여하면 읽고 쓸 수 있습니다."},

	"recipient": {"To", "받는 사람"},
	"recipient.placeholder": {
		"user id, room id or ALL", "아이디, 방 아이디 또는 ALL"},
	"chattype":            {"Kind", "종류"},
	"chat":                {"Person or everyone (chat)", "사람 또는 모두 (1:1·전체)"},
	"groupchat":           {"Room (groupchat)", "대화방 (그룹)"},
	"message":             {"Message", "메시지"},
	"message.placeholder": {"Write a message", "메시지를 입력하세요"},
	"message.keys": {
		"Enter sends, Shift+Enter starts a new line, Up edits your last message, Escape cancels a reply or an edit",
		"Enter로 보내기, Shift+Enter로 줄 바꿈, ↑로 마지막 메시지 수정, Esc로 답장·수정 취소"},
	"send":        {"Send", "보내기"},
	"pending":     {"waiting to send", "보내기 대기 중"},
	"empty":       {"No messages yet.", "아직 메시지가 없습니다."},
	"empty.login": {"Log in to start chatting.", "로그인하면 대화를 시작할 수 있습니다."},
	"queued":      {"Offline: the message will be sent when the connection is back.", "오프라인: 연결되면 메시지를 보냅니다."},
	"not.sent":    {"Not sent", "보내지 못함"},
	"conv.dm":     {"Direct messages", "1:1 대화"},
	"conv.self":   {"Notes to yourself", "나에게 쓴 메모"},

	"skip":                {"Skip to the message box", "메시지 입력란으로 건너뛰기"},
	"settings":            {"Server", "서버"},
	"settings.title":      {"Server settings", "서버 설정"},
	"server.lead":         {"The app talks to the server that served it. Point it at another chatapp server here; each server keeps its own login.", "앱은 자신을 보내 준 서버와 대화합니다. 다른 chatapp 서버로 바꿀 수 있으며, 서버마다 로그인이 따로 유지됩니다."},
	"profile.edit":        {"Profile", "프로필"},
	"profile.title":       {"Your profile", "내 프로필"},
	"profile.password":    {"Current password (to save)", "현재 비밀번호 (저장하려면)"},
	"profile.save":        {"Save", "저장"},
	"profile.saving":      {"Saving…", "저장하는 중…"},
	"profile.saved":       {"Profile saved.", "프로필을 저장했습니다."},
	"room.new":            {"New room", "새 대화방"},
	"room.to.join":        {"not joined", "참여 전"},
	"room.join.named":     {"Join %s", "%s 참여"},
	"room.menu":           {"Room", "대화방"},
	"room.rename":         {"Rename…", "이름 바꾸기…"},
	"room.delete.ask":     {"Delete…", "삭제…"},
	"room.create.title":   {"Rooms", "대화방"},
	"room.rename.title":   {"Rename the room", "대화방 이름 바꾸기"},
	"room.delete.title":   {"Delete the room?", "대화방을 삭제할까요?"},
	"room.delete.confirm": {"Room %s and all its messages will be deleted for everyone. This cannot be undone.", "대화방 %s과(와) 모든 메시지가 모두에게서 삭제됩니다. 되돌릴 수 없습니다."},
	"cancel":              {"Cancel", "취소"},
	"log":                 {"Messages", "메시지"},
	"history.loading":     {"Loading older messages…", "이전 메시지를 불러오는 중…"},
	"history.newer":       {"Loading newer messages…", "최근 메시지를 불러오는 중…"},
	"history.start":       {"This is the beginning of the conversation.", "대화의 처음입니다."},
	"landing.title":       {"Welcome!", "환영합니다!"},
	"landing.pick":        {"Pick a person or a room to start a conversation, or reply to a message below.", "대화를 시작하려면 사람이나 대화방을 고르거나, 아래 메시지에 답장하세요."},
	"landing.phone":       {"The list is behind the ☰ button at the top left.", "목록은 왼쪽 위 ☰ 버튼에 있습니다."},
	"reply":               {"Reply", "답장"},
	"reply.to":            {"Reply to %s in %s", "%s에게 답장 (%s)"},
	"reply.cancel":        {"Cancel the reply", "답장 취소"},
	"address.none":        {"To: pick a conversation", "받는 곳: 대화를 고르세요"},
	"address.to":          {"To: %s", "받는 곳: %s"},
	"composer":            {"Write a message", "메시지 쓰기"},
	"member.one":          {"1 member", "1명"},
	"everything.sub":      {"Every conversation, newest at the bottom", "모든 대화, 최신 메시지가 아래"},
	"today.day":           {"Today", "오늘"},
	"yesterday":           {"Yesterday", "어제"},
	"unknown":             {"unknown", "알 수 없음"},
	"conn.refused":        {"The server refused the connection: %s", "서버가 연결을 거절했습니다: %s"},
	"conn.dead":           {"The server stopped answering. Reconnecting…", "서버가 응답하지 않습니다. 다시 연결하는 중…"},
	"conn.closed":         {"The server closed the connection. Reconnecting…", "서버가 연결을 닫았습니다. 다시 연결하는 중…"},
	"err.pick":            {"Pick a conversation, or reply to a message, first.", "먼저 대화를 고르거나 메시지에 답장하세요."},

	// Messages: changes, replies, reactions, mentions, typing.
	"new.messages":       {"New messages", "새 메시지"},
	"msg.deleted":        {"Message deleted", "삭제된 메시지"},
	"msg.edited":         {"(edited)", "(수정됨)"},
	"msg.edited.pending": {"(changed · waiting to send)", "(변경됨 · 보내기 대기 중)"},
	"msg.actions":        {"Message actions", "메시지 작업"},
	"msg.delete.title":   {"Delete the message?", "메시지를 삭제할까요?"},
	"msg.delete.confirm": {"“%s” will be deleted for everyone. This cannot be undone.", "“%s” 메시지가 모두에게서 삭제됩니다. 되돌릴 수 없습니다."},
	"quote.earlier":      {"An earlier message", "이전 메시지"},
	"quote.show":         {"Show the message this answers", "답장한 원래 메시지 보기"},
	"reaction.label":     {"Reaction %s, %s: %s", "반응 %s, %s명: %s"},
	"react.add":          {"Add a reaction", "반응 추가"},
	"react.pick":         {"Pick a reaction", "반응 고르기"},
	"react.with":         {"React with %s", "%s 반응 달기"},
	"reply.to.short":     {"Reply to %s", "%s에게 답장"},
	"replying":           {"Replying to %s:", "%s에게 답장 중:"},
	"edit":               {"Edit", "수정"},
	"delete.msg":         {"Delete", "삭제"},
	"editing":            {"Editing your message — Enter saves, Escape cancels", "메시지 수정 중 — Enter로 저장, Esc로 취소"},
	"edit.cancel":        {"Cancel the edit", "수정 취소"},
	"save":               {"Save", "저장"},
	"mention.list":       {"People to mention", "언급할 사람"},
	"typing.one":         {"%s is typing…", "%s 님이 입력 중…"},
	"typing.two":         {"%s and %s are typing…", "%s 님과 %s 님이 입력 중…"},
	"typing.many":        {"Several people are typing…", "여러 사람이 입력 중…"},
	"unread":             {"unread", "읽지 않음"},
	"mentions.n":         {"%s mentions of you", "나를 언급한 메시지 %s개"},
	"queued.change":      {"Offline: the change will be sent when the connection is back.", "오프라인: 연결되면 변경 사항을 보냅니다."},
	"reply.gone":         {"The message this answers is no longer there.", "답장한 원래 메시지가 없습니다."},

	// Notifications.
	"notify.on":      {"Notifications on", "알림 켜짐"},
	"notify.off":     {"Notifications off", "알림 꺼짐"},
	"notify.hint":    {"Direct messages and mentions show a notification while the app is in the background", "앱이 뒤에 있을 때 1:1 메시지와 나를 언급한 메시지를 알림으로 보여 줍니다"},
	"notify.blocked": {"Notifications are blocked in the browser's settings", "브라우저 설정에서 알림이 차단되어 있습니다"},
	"notify.mention": {"%s mentioned you in %s", "%s 님이 %s에서 나를 언급했습니다"},

	// Answers and local checks.
	"err.unreachable": {"Cannot reach %s. Retrying…", "%s에 연결할 수 없습니다. 다시 시도하는 중…"},
	"err.offline":     {"Not connected. Wait for the connection and try again.", "연결되어 있지 않습니다. 연결된 뒤 다시 시도하세요."},
	"err.lost":        {"The connection was lost. Try again.", "연결이 끊겼습니다. 다시 시도하세요."},
	"err.login.first": {"Log in first.", "먼저 로그인하세요."},
	"err.credentials": {"Wrong id or password.", "아이디 또는 비밀번호가 틀렸습니다."},
	"err.slow.login":  {"Too many attempts. Wait a moment and try again.", "시도가 너무 많습니다. 잠시 후 다시 시도하세요."},
	"err.slow":        {"Too many requests. Slow down a little.", "요청이 너무 많습니다. 조금 천천히 하세요."},
	"err.exists":      {"That room already exists.", "이미 있는 대화방입니다."},
	"err.owner":       {"Only the room's owner can do that.", "방장만 할 수 있습니다."},
	"err.forbidden":   {"Not allowed.", "허용되지 않습니다."},
	"err.join.first":  {"Join the room first.", "먼저 대화방에 참여하세요."},
	"err.no.room":     {"No such room.", "그런 대화방이 없습니다."},
	"err.no.user":     {"No such user.", "그런 사용자가 없습니다."},
	"err.no.target":   {"No such user or room.", "그런 사용자나 대화방이 없습니다."},
	"err.too.long":    {"The message is too long.", "메시지가 너무 깁니다."},
	"err.server":      {"The server failed. Try again.", "서버 오류입니다. 다시 시도하세요."},
	"err.no.message":  {"That message no longer exists.", "그 메시지는 더 이상 없습니다."},
	"err.reactions":   {"This message cannot hold another kind of reaction.", "이 메시지에는 다른 반응을 더 달 수 없습니다."},
	"err.session":     {"Your session ended. Log in again.", "세션이 끝났습니다. 다시 로그인하세요."},
	"err.invalid":     {"Check the %s: %s.", "%s 항목을 확인하세요: %s."},
	"err.other":       {"Refused: %s", "거절됨: %s"},
	"why.required":    {"it is required", "필수입니다"},
	"why.short":       {"it is too short (at least %s characters)", "너무 짧습니다 (%s자 이상)"},
	"why.long":        {"it is too long (at most %s characters)", "너무 깁니다 (%s자 이하)"},
	"why.chars":       {"use only letters A–Z, digits and _ . -", "영문자, 숫자, _ . - 만 쓸 수 있습니다"},
	"why.reserved":    {"ALL is reserved", "ALL은 쓸 수 없습니다"},
	"why.control":     {"control characters are not allowed", "제어 문자는 쓸 수 없습니다"},
	"why.empty":       {"it is empty", "비어 있습니다"},
	"why.kind":        {"pick chat or groupchat", "chat 또는 groupchat을 고르세요"},
	"field.id":        {"ID", "아이디"},
	"field.password":  {"password", "비밀번호"},
	"field.alias":     {"display name", "별명"},
	"field.today":     {"status", "상태 메시지"},
	"field.roomId":    {"room ID", "방 아이디"},
	"field.roomName":  {"room name", "방 이름"},
	"field.data":      {"message", "메시지"},
	"field.recepient": {"recipient", "받는 사람"},
	"field.command":   {"kind", "종류"},
	"field.cid":       {"message id", "메시지 아이디"},
	"field.replyTo":   {"message replied to", "답장한 메시지"},
	"field.ref":       {"message", "메시지"},
	"field.offset":    {"position", "위치"},
	"field.type":      {"type", "형식"},
	"field.target":    {"conversation", "대화"},
	"field.sender":    {"sender", "보낸 사람"},
	"field.payload":   {"request", "요청"},
	"field.unknown":   {"input", "입력"},
}

// tr returns the text of key in lang; a missing key returns the key, so a
// typo shows up in the page instead of an empty string.
func tr(lang, key string) string {
	t, ok := texts[key]
	if !ok {
		return key
	}
	if lang == langKO {
		return t[1]
	}
	return t[0]
}

// trf is tr with %s placeholders filled in order.
func trf(lang, key string, args ...string) string {
	s := tr(lang, key)
	for _, a := range args {
		s = strings.Replace(s, "%s", a, 1)
	}
	return s
}

// notice is a short message shown near the control that caused it. It
// holds codes, not text: the page words it in the language of the moment
// (text), so switching the language rewords what is on screen.
type notice struct {
	Key  string // a key of texts, with Args for its %s
	Args []string
	// Answer is a refused request (or a local check that failed), worded
	// by human.
	Answer *answer
	// Quote is the start of the message a refusal was about.
	Quote string
	Error bool
}

// answer is what human needs of a refusal: the request's event, its room
// command for "room" or its change (edit, delete, react) for "message",
// and the answer's code and message.
type answer struct{ Command, RoomCmd, Code, Message string }

func info(key string, args ...string) notice { return notice{Key: key, Args: args} }
func failure(key string, args ...string) notice {
	return notice{Key: key, Args: args, Error: true}
}

// refusal is the notice of a refused request.
func refusal(command, roomCmd string, r shared.Response) notice {
	return notice{Answer: &answer{command, roomCmd, r.Code, r.Message}, Error: true}
}

// invalid is the notice of a local check that failed.
func invalid(command, roomCmd string, err *shared.Error) notice {
	return notice{Answer: &answer{command, roomCmd, err.Code, err.Message}, Error: true}
}

// text words n in lang.
func (n notice) text(lang string) string {
	s := trf(lang, n.Key, n.Args...)
	if a := n.Answer; a != nil {
		s = human(lang, a.Command, a.RoomCmd, a.Code, a.Message)
	}
	if n.Quote != "" {
		s += " — “" + n.Quote + "”"
	}
	return s
}

// human turns a refused answer (or a local check that failed) into a short
// message for the person: command is the request's event ("login", "room",
// "message"), roomCmd the room command for command "room" or the change for
// "message", code and msg the answer's.
func human(lang, command, roomCmd, code, msg string) string {
	switch code {
	case shared.CodeUnauthorized:
		if command == shared.EventLogin {
			return tr(lang, "err.credentials")
		}
		return tr(lang, "err.login.first")
	case shared.CodeTooManyRequests:
		if command == shared.EventLogin {
			return tr(lang, "err.slow.login")
		}
		return tr(lang, "err.slow")
	case shared.CodeConflict:
		if command == shared.EventMessage {
			return tr(lang, "err.reactions")
		}
		return tr(lang, "err.exists")
	case shared.CodeForbidden:
		switch {
		case command == shared.EventRoom && (roomCmd == shared.RoomUpdate || roomCmd == shared.RoomDelete):
			return tr(lang, "err.owner")
		case strings.Contains(msg, "join"):
			return tr(lang, "err.join.first")
		}
		return tr(lang, "err.forbidden")
	case shared.CodeNotFound:
		switch {
		case command == shared.EventMessage && shared.IsChange(roomCmd):
			return tr(lang, "err.no.message")
		case command == shared.EventRoom || strings.Contains(msg, "room"):
			return tr(lang, "err.no.room")
		case strings.Contains(msg, "user"):
			return tr(lang, "err.no.user")
		}
		return tr(lang, "err.no.target")
	case shared.CodeTooLarge:
		return tr(lang, "err.too.long")
	case shared.CodeInternal:
		return tr(lang, "err.server")
	case codeLost:
		return tr(lang, "err.lost")
	case shared.CodeBadRequest:
		if field, why, ok := strings.Cut(strings.TrimPrefix(msg, "invalid "), ": "); ok && strings.HasPrefix(msg, "invalid ") {
			return trf(lang, "err.invalid", fieldName(lang, field), reason(lang, why))
		}
	}
	if msg == "" {
		msg = code
	}
	return trf(lang, "err.other", msg)
}

func fieldName(lang, field string) string {
	if _, ok := texts["field."+field]; ok {
		return tr(lang, "field."+field)
	}
	return field
}

// reason translates the "why" part of the validators' messages
// (shared/validate.go); unknown ones pass through.
func reason(lang, why string) string {
	switch {
	case why == "required":
		return tr(lang, "why.required")
	case why == "empty":
		return tr(lang, "why.empty")
	case strings.HasPrefix(why, "shorter than "):
		return trf(lang, "why.short", firstNumber(why))
	case strings.HasPrefix(why, "longer than "):
		return trf(lang, "why.long", firstNumber(why))
	case strings.HasPrefix(why, "only letters"):
		return tr(lang, "why.chars")
	case strings.Contains(why, "ALL is reserved"):
		return tr(lang, "why.reserved")
	case strings.Contains(why, "control characters"):
		return tr(lang, "why.control")
	case strings.HasPrefix(why, "expected chat or groupchat"):
		return tr(lang, "why.kind")
	}
	return why
}

// firstNumber returns the first run of digits in s.
func firstNumber(s string) string {
	i := strings.IndexAny(s, "0123456789")
	if i < 0 {
		return "?"
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[i:j]
}
