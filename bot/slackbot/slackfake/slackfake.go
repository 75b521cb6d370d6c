// Package slackfake is a fake Slack for tests, speaking Slack's wire
// formats: a Web API that records every call (point slack-go at APIURL), a
// Socket Mode WebSocket server reached through apps.connections.open, and
// builders of the signed HTTP requests Slack sends in HTTP mode.
package slackfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Identities the fake answers auth.test with.
const (
	TeamID    = "T0FAKE"
	BotUserID = "U0BOT"
	BotID     = "B0BOT"
	AppID     = "A0APP"
)

// Call is one request the fake received.
type Call struct {
	Method string         // Web API method, "response_url", "upload" or "socket"
	Path   string         // the URL path
	Form   url.Values     // a form-encoded body (most methods)
	Body   map[string]any // a JSON body (views.publish, response_url)
	Token  string         // the token sent (form field or bearer)
	At     time.Time      // when it arrived
	Ended  time.Time      // when the fake answered
	Answer map[string]any // what the fake answered (normal answers of Web API methods)
}

// Field returns a parameter, from the form or, as text or JSON, from the JSON body.
func (c Call) Field(name string) string {
	if c.Form != nil {
		if v, ok := c.Form[name]; ok && len(v) > 0 {
			return v[0]
		}
	}
	v, ok := c.Body[name]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	js, _ := json.Marshal(v)
	return string(js)
}

// Response is a canned answer to the next call of a method (a Web API
// method, "response_url" or "upload").
type Response struct {
	Status int               // 0 means 200; 5xx answers an HTML page, as Slack does
	Header map[string]string // e.g. Retry-After
	Body   any               // JSON-encoded; nil means {"ok":true}
	Drop   bool              // close the connection without answering (a network error)
	// Delay holds the answer back (a client timing out gives up first).
	Delay time.Duration
}

// Server is the fake Slack.
type Server struct {
	*httptest.Server
	t testing.TB

	// BotToken and AppToken, when set, are the only tokens accepted.
	BotToken, AppToken string

	mu       sync.Mutex
	calls    []Call
	queued   map[string][]Response
	delay    map[string]time.Duration
	members  map[string]bool
	gone     map[string]string
	openErr  string
	seq      int
	changed  chan struct{}
	conn     *websocket.Conn
	wmu      sync.Mutex // serializes writes to conn
	conns    int
	sent     map[string]time.Time
	acks     map[string]time.Time
	ackBody  map[string]json.RawMessage
	envelope int
	closed   bool
	files    map[string]File
	others   []map[string]any // messages of people, by AddMessage
	pins     map[string]bool  // channel/ts of pinned messages
	deleted  map[string]bool  // channel/ts of messages people deleted (Delete)
	userChs  map[string][]string
	users    map[string]string // user id → real name, for users.info
	departed map[string]bool   // user ids deactivated, for users.info
	uploads  map[string]string // file id → content, until files.completeUploadExternal
	infoSeen map[string]int    // files.info calls per uploaded file

	// PageSize, when set, caps the messages of one conversations.replies page.
	PageSize int
	// SharedAfter is how many files.info calls describe a file the bot
	// uploaded as not shared yet (Slack shares it a moment after
	// files.completeUploadExternal); 0: shared at once.
	SharedAfter int
}

// New starts a fake Slack, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		t: t, queued: map[string][]Response{}, delay: map[string]time.Duration{}, members: map[string]bool{},
		gone: map[string]string{}, changed: make(chan struct{}), sent: map[string]time.Time{}, acks: map[string]time.Time{},
		ackBody: map[string]json.RawMessage{}, files: map[string]File{}, pins: map[string]bool{}, deleted: map[string]bool{},
		userChs: map[string][]string{}, users: map[string]string{}, uploads: map[string]string{}, infoSeen: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/response/", s.serveResponseURL)
	mux.HandleFunc("/upload/", s.serveUpload)
	mux.HandleFunc("/socket", s.serveSocket)
	mux.HandleFunc("/files-pri/", s.serveFile)
	mux.HandleFunc("/files-moved/", s.serveFile)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) { // the sign-in page
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to your workspace</body></html>")
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Close stops the fake and its WebSocket.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conn := s.conn
	s.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
	s.Server.CloseClientConnections()
	s.Server.Close()
}

// APIURL is the Web API base URL, for slack.OptionAPIURL and SLACK_API_URL.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// ResponseURL is a response_url the fake records calls to.
func (s *Server) ResponseURL(id string) string { return s.URL + "/response/" + id }

// Queue sets the answers to the next calls of method, in order; later
// calls get the normal answer.
func (s *Server) Queue(method string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued[method] = append(s.queued[method], rs...)
}

// SetDelay makes every call of method take d before it is answered.
func (s *Server) SetDelay(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[method] = d
}

// SetMember sets what conversations.info says of the bot in channel (member by default).
func (s *Server) SetMember(channel string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[channel] = member
}

// SetUserChannels sets the channels users.conversations lists for user (none by default).
func (s *Server) SetUserChannels(user string, channels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userChs[user] = channels
}

// SetUser makes users.info know user by realName (users it does not know are user_not_found).
func (s *Server) SetUser(user, realName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[user] = realName
}

// SetDeparted makes users.info say user was deactivated.
func (s *Server) SetDeparted(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.departed == nil {
		s.departed = map[string]bool{}
	}
	s.departed[user] = true
}

// SetGone makes posts to channel fail with code (not_in_channel, channel_not_found, is_archived); "" restores it.
func (s *Server) SetGone(channel, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.gone, channel)
	} else {
		s.gone[channel] = code
	}
}

// SetOpenError makes apps.connections.open fail with code ("" restores it).
func (s *Server) SetOpenError(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.openErr = code
}

// Calls returns the calls of the given methods (all calls when none is given), in order.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// WaitCalls waits until there are at least n calls of the methods and returns them.
func (s *Server) WaitCalls(n int, timeout time.Duration, methods ...string) []Call {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if got := s.Calls(methods...); len(got) >= n {
			return got
		}
		left := time.Until(deadline)
		if left <= 0 {
			s.t.Fatalf("slackfake: waited %v for %d call(s) of %v, got %d: %v", timeout, n, methods, len(s.Calls(methods...)), s.methodList())
			return nil
		}
		select {
		case <-ch:
		case <-time.After(left):
		}
	}
}

func (s *Server) methodList() []string {
	var out []string
	for _, c := range s.Calls() {
		out = append(out, c.Method)
	}
	return out
}

func (s *Server) record(c Call) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(s.calls) - 1
}

func (s *Server) ended(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[i].Ended = time.Now()
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("1700000000.%06d", s.seq)
}

// readCall decodes a request into a Call.
func readCall(method string, r *http.Request) Call {
	c := Call{Method: method, Path: r.URL.Path, At: time.Now()}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		_ = json.Unmarshal(body, &c.Body)
	case "application/x-www-form-urlencoded":
		c.Form, _ = url.ParseQuery(string(body))
	}
	c.Token = c.Form.Get("token")
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && c.Token == "" {
		c.Token = auth
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	c := readCall(method, r)
	i := s.record(c)
	defer s.ended(i)
	s.mu.Lock()
	d := s.delay[method]
	s.mu.Unlock()
	if !wait(r, d) || s.serveCanned(w, r, method) {
		return
	}
	ans := s.answer(method, c)
	s.mu.Lock()
	s.calls[i].Answer = ans
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, ans)
}

// wait waits d, or until the client gives up (false).
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

// serveCanned answers with the next Response queued for method, if any.
func (s *Server) serveCanned(w http.ResponseWriter, r *http.Request, method string) bool {
	s.mu.Lock()
	q := s.queued[method]
	if len(q) == 0 {
		s.mu.Unlock()
		return false
	}
	canned := q[0]
	s.queued[method] = q[1:]
	s.mu.Unlock()
	if !wait(r, canned.Delay) {
		return true
	}
	if canned.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
	}
	for k, v := range canned.Header {
		w.Header().Set(k, v)
	}
	status := canned.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 500 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html>server error</html>")
		return true
	}
	body := canned.Body
	if body == nil {
		body = map[string]any{"ok": true}
	}
	writeJSON(w, status, body)
	return true
}

func fail(code string) map[string]any { return map[string]any{"ok": false, "error": code} }

// answer is the normal answer to a Web API call.
func (s *Server) answer(method string, c Call) map[string]any {
	if method == "apps.connections.open" {
		if s.AppToken != "" && c.Token != s.AppToken {
			return fail("invalid_auth")
		}
		s.mu.Lock()
		openErr := s.openErr
		s.mu.Unlock()
		if openErr != "" {
			return fail(openErr)
		}
		return map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.URL, "http") + "/socket"}
	}
	if s.BotToken != "" && c.Token != s.BotToken {
		return fail("invalid_auth")
	}
	channel := c.Field("channel")
	if channel == "" {
		channel = c.Field("channel_id")
	}
	s.mu.Lock()
	goneCode := s.gone[channel]
	member, known := s.members[channel]
	s.mu.Unlock()
	switch ref := channel + "/" + c.Field("ts"); method {
	case "chat.update":
		s.mu.Lock()
		gone := s.deleted[ref]
		s.mu.Unlock()
		if gone && goneCode == "" {
			return fail("message_not_found")
		}
	case "pins.add":
		if goneCode != "" {
			return fail(goneCode)
		}
		ref = channel + "/" + c.Field("timestamp")
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.deleted[ref] {
			return fail("message_not_found")
		}
		if s.pins[ref] {
			return fail("already_pinned")
		}
		s.pins[ref] = true
		return map[string]any{"ok": true}
	case "pins.remove":
		ref = channel + "/" + c.Field("timestamp")
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.pins[ref] {
			return fail("no_pin")
		}
		delete(s.pins, ref)
		return map[string]any{"ok": true}
	}
	switch method {
	case "auth.test":
		return map[string]any{"ok": true, "url": "https://fake.slack.com/", "team": "Fake Team", "user": "upgradebot",
			"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID}
	case "chat.postMessage", "chat.postEphemeral", "chat.update", "reactions.add", "files.completeUploadExternal":
		if goneCode != "" {
			return fail(goneCode)
		}
	}
	switch method {
	case "chat.postMessage":
		ts := s.nextTS()
		return map[string]any{"ok": true, "channel": channel, "ts": ts, "message": map[string]any{"type": "message", "ts": ts, "text": c.Field("text"), "thread_ts": c.Field("thread_ts")}}
	case "chat.postEphemeral":
		return map[string]any{"ok": true, "message_ts": s.nextTS()}
	case "chat.update":
		return map[string]any{"ok": true, "channel": channel, "ts": c.Field("ts"), "text": c.Field("text")}
	case "conversations.info":
		if goneCode == "channel_not_found" {
			return fail(goneCode)
		}
		if !known {
			member = true
		}
		return map[string]any{"ok": true, "channel": map[string]any{"id": channel, "name": "fake-" + strings.ToLower(channel), "is_channel": true, "is_member": member}}
	case "views.publish":
		return map[string]any{"ok": true, "view": map[string]any{"id": "V0VIEW", "type": "home"}}
	case "conversations.replies":
		return s.replies(channel, c)
	case "files.getUploadURLExternal":
		id := "F" + strings.TrimPrefix(s.nextTS(), "1700000000.")
		return map[string]any{"ok": true, "upload_url": s.URL + "/upload/" + id, "file_id": id}
	case "files.completeUploadExternal":
		var files []map[string]any
		_ = json.Unmarshal([]byte(c.Field("files")), &files)
		s.mu.Lock()
		for _, f := range files {
			id, _ := f["id"].(string)
			title, _ := f["title"].(string)
			content, ok := s.uploads[id]
			if !ok {
				s.mu.Unlock()
				return fail("file_not_found")
			}
			file := File{ID: id, Name: title, Mimetype: "image/png", Filetype: "png", Content: []byte(content), uploaded: true}
			if channel != "" {
				file.Shared = []string{channel}
			}
			s.files[id] = file
		}
		s.mu.Unlock()
		return map[string]any{"ok": true, "files": files}
	case "files.info":
		s.mu.Lock()
		f, ok := s.files[c.Field("file")]
		if f.uploaded {
			if s.infoSeen[f.ID]++; s.infoSeen[f.ID] <= s.SharedAfter {
				f.Shared = nil
			}
		}
		s.mu.Unlock()
		if !ok {
			return fail("file_not_found")
		}
		return map[string]any{"ok": true, "file": s.fileObject(f, false), "comments": []any{}}
	case "users.info":
		s.mu.Lock()
		name, ok := s.users[c.Field("user")]
		deleted := s.departed[c.Field("user")]
		s.mu.Unlock()
		if !ok {
			return fail("user_not_found")
		}
		return map[string]any{"ok": true, "user": map[string]any{"id": c.Field("user"), "deleted": deleted, "name": strings.ToLower(strings.ReplaceAll(name, " ", ".")),
			"real_name": name, "profile": map[string]any{"real_name": name, "display_name": ""}}}
	case "users.conversations":
		s.mu.Lock()
		var chs []map[string]any
		for _, ch := range s.userChs[c.Field("user")] {
			chs = append(chs, map[string]any{"id": ch, "name": "fake-" + strings.ToLower(ch), "is_channel": true})
		}
		s.mu.Unlock()
		return map[string]any{"ok": true, "channels": chs, "response_metadata": map[string]any{"next_cursor": ""}}
	}
	return map[string]any{"ok": true}
}

// Pinned reports whether the message ts of channel is pinned.
func (s *Server) Pinned(channel, ts string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pins[channel+"/"+ts]
}

// Unpin unpins a message, as a person would.
func (s *Server) Unpin(channel, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pins, channel+"/"+ts)
}

// Delete deletes a message, as a person would: chat.update on it answers message_not_found.
func (s *Server) Delete(channel, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted[channel+"/"+ts] = true
	delete(s.pins, channel+"/"+ts)
}

// AddMessage records a message someone else posted (a person, another
// app), for conversations.replies: fields as Slack gives them ("ts",
// "thread_ts", "user", "text", "blocks"…) and "channel".
func (s *Server) AddMessage(m map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.others = append(s.others, m)
}

// replies answers conversations.replies: the messages in the thread ts of
// channel, the bot's posts (with their blocks) and AddMessage's, oldest first.
func (s *Server) replies(channel string, c Call) map[string]any {
	ts := c.Field("ts")
	var msgs []map[string]any
	s.mu.Lock()
	for _, call := range s.calls {
		if call.Method != "chat.postMessage" || call.Answer == nil || call.Answer["ok"] != true || call.Field("channel") != channel {
			continue
		}
		posted, _ := call.Answer["ts"].(string)
		if posted != ts && call.Field("thread_ts") != ts {
			continue
		}
		m := map[string]any{"type": "message", "ts": posted, "text": call.Field("text"), "user": BotUserID, "bot_id": BotID, "app_id": AppID}
		if t := call.Field("thread_ts"); t != "" {
			m["thread_ts"] = t
		}
		var blocks []any
		if json.Unmarshal([]byte(call.Field("blocks")), &blocks) == nil {
			m["blocks"] = blocks
		}
		msgs = append(msgs, m)
	}
	for _, m := range s.others {
		if m["channel"] == channel && (m["ts"] == ts || m["thread_ts"] == ts) {
			msgs = append(msgs, m)
		}
	}
	page := s.PageSize
	s.mu.Unlock()
	sort.SliceStable(msgs, func(i, j int) bool { return fmt.Sprint(msgs[i]["ts"]) < fmt.Sprint(msgs[j]["ts"]) })
	if len(msgs) == 0 {
		return fail("thread_not_found")
	}
	from, _ := strconv.Atoi(c.Field("cursor"))
	if limit, _ := strconv.Atoi(c.Field("limit")); limit > 0 && (page == 0 || limit < page) {
		page = limit
	}
	from = min(from, len(msgs))
	to := len(msgs)
	if page > 0 {
		to = min(from+page, to)
	}
	ans := map[string]any{"ok": true, "messages": msgs[from:to], "has_more": to < len(msgs)}
	if to < len(msgs) {
		ans["response_metadata"] = map[string]any{"next_cursor": strconv.Itoa(to)}
	}
	return ans
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	i := s.record(readCall("response_url", r))
	defer s.ended(i)
	if s.serveCanned(w, r, "response_url") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	c := Call{Method: "upload", Path: r.URL.Path, At: time.Now(), Body: map[string]any{}}
	if err := r.ParseMultipartForm(8 << 20); err == nil {
		if f, h, err := r.FormFile("file"); err == nil {
			data, _ := io.ReadAll(f)
			c.Body["filename"] = h.Filename
			c.Body["content"] = string(data)
		}
	}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		c.Token = auth
	}
	i := s.record(c)
	defer s.ended(i)
	if s.serveCanned(w, r, "upload") {
		return
	}
	s.mu.Lock()
	s.uploads[strings.TrimPrefix(r.URL.Path, "/upload/")] = fmt.Sprint(c.Body["content"])
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(fmt.Sprint(c.Body["content"]))))
}

// ---- Files ----

// File is a file shared in a message: the fake serves its content at its
// url_private_download (with the bot token, as Slack does: without it, or
// with another one, Slack answers its sign-in page, HTML, with status 200)
// and describes it in files.info.
type File struct {
	ID       string // "F…"
	Name     string // "error.png"
	Mimetype string // "image/png"
	Filetype string // "png"
	Content  []byte // what the download answers
	// ContentType is the download's Content-Type header; "" means Mimetype.
	ContentType string
	// Size is the size the event declares; 0 means len(Content).
	Size int64
	// Width and Height are original_w and original_h (images).
	Width, Height int
	// Status is the download's status; 0 means 200.
	Status int
	// Redirect makes the download URL answer 302 to where the content is.
	Redirect bool
	// SignIn sends the download to the workspace's sign-in page, as Slack
	// does when the token may not read the file (no files:read scope).
	SignIn bool
	// Delay makes the download take that long.
	Delay time.Duration
	// Mode is the file's mode: "snippet" for a long paste Slack turned
	// into a file; "" means "hosted".
	Mode string
	// CheckFileInfo makes the event carry only the id (file_access
	// "check_file_info"), as for files from Slack Connect channels: the
	// details come from files.info.
	CheckFileInfo bool
	// Shared are the channels it is shared in (files.info's channels and shares).
	Shared []string

	uploaded bool // by the bot, through files.completeUploadExternal
}

// AddFile registers a file and returns it as a message event's files[] element.
func (s *Server) AddFile(f File) map[string]any {
	s.mu.Lock()
	s.files[f.ID] = f
	s.mu.Unlock()
	return s.fileObject(f, f.CheckFileInfo)
}

// DownloadURL is a file's url_private_download.
func (s *Server) DownloadURL(id, name string) string {
	return s.URL + "/files-pri/" + TeamID + "-" + id + "/download/" + url.PathEscape(name)
}

// fileObject is a file as Slack describes it in events and files.info; with
// idOnly, the stub of a file whose details need files.info.
func (s *Server) fileObject(f File, idOnly bool) map[string]any {
	if idOnly {
		return map[string]any{"id": f.ID, "file_access": "check_file_info"}
	}
	size := f.Size
	if size == 0 {
		size = int64(len(f.Content))
	}
	o := map[string]any{
		"id": f.ID, "created": 1700000000, "timestamp": 1700000000, "name": f.Name, "title": f.Name,
		"mimetype": f.Mimetype, "filetype": f.Filetype, "pretty_type": strings.ToUpper(f.Filetype), "user": "U0ANA",
		"user_team": TeamID, "editable": false, "size": size, "mode": cmp.Or(f.Mode, "hosted"), "is_external": false,
		"external_type": "", "is_public": true, "public_url_shared": false, "display_as_bot": false, "username": "",
		"url_private":          s.URL + "/files-pri/" + TeamID + "-" + f.ID + "/" + url.PathEscape(f.Name),
		"url_private_download": s.DownloadURL(f.ID, f.Name),
		"permalink":            "https://fake.slack.com/files/U0ANA/" + f.ID + "/" + f.Name,
		"has_rich_preview":     false, "file_access": "visible",
	}
	if len(f.Shared) > 0 {
		public := map[string]any{}
		for _, ch := range f.Shared {
			public[ch] = []any{map[string]any{"ts": "1700000000.000001", "channel_name": "fake-" + strings.ToLower(ch), "team_id": TeamID}}
		}
		o["channels"], o["shares"] = f.Shared, map[string]any{"public": public}
	}
	if f.Width > 0 {
		o["original_w"], o["original_h"] = f.Width, f.Height
		o["thumb_360"] = s.URL + "/files-tmb/" + f.ID + "/360.png"
	}
	return o
}

// serveFile answers a file download: records it (Method "download"), then
// redirects, fails, or serves the content as configured.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	c := Call{Method: "download", Path: r.URL.Path, At: time.Now()}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		c.Token = auth
	}
	i := s.record(c)
	defer s.ended(i)
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/files-pri/"), "/files-moved/")
	id, _, _ := strings.Cut(strings.TrimPrefix(rest, TeamID+"-"), "/")
	s.mu.Lock()
	f, ok := s.files[id]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Redirect && strings.HasPrefix(r.URL.Path, "/files-pri/") {
		http.Redirect(w, r, "/files-moved/"+rest, http.StatusFound)
		return
	}
	if f.SignIn {
		http.Redirect(w, r, "/?redir="+url.QueryEscape(r.URL.Path), http.StatusFound)
		return
	}
	if s.BotToken != "" && c.Token != s.BotToken {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to your workspace</body></html>")
		return
	}
	ct := f.ContentType
	if ct == "" {
		ct = f.Mimetype
	}
	w.Header().Set("Content-Type", ct)
	if f.Status != 0 && f.Status != http.StatusOK {
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, "<html>error</html>")
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Content)))
	_, _ = w.Write(f.Content)
}

// ---- Socket Mode ----

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	old := s.conn
	s.conn = conn
	s.conns++
	n := s.conns
	s.calls = append(s.calls, Call{Method: "socket", Path: r.URL.Path, At: time.Now()})
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	_ = s.write(conn, map[string]any{"type": "hello", "num_connections": n,
		"debug_info":      map[string]any{"host": "fake-applink", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID}})
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	}()
	defer close(stop)
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := conn.ReadJSON(&ack); err != nil {
			s.mu.Lock()
			if s.conn == conn {
				s.conn = nil
			}
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID] = time.Now()
		s.ackBody[ack.EnvelopeID] = ack.Payload
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
}

func (s *Server) write(conn *websocket.Conn, v any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return conn.WriteJSON(v)
}

// Connections is how many Socket Mode connections were opened.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// WaitConnected waits until connection number n (1 for the first) is open.
func (s *Server) WaitConnected(n int, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		ok := s.conns >= n && s.conn != nil
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			s.t.Fatalf("slackfake: no Socket Mode connection #%d within %v (%d opened)", n, timeout, s.Connections())
		}
		select {
		case <-ch:
		case <-time.After(left):
		}
	}
}

// Send sends an envelope (events_api, slash_commands, interactive) over the
// open Socket Mode connection and returns its envelope_id.
func (s *Server) Send(typ string, payload any, retryAttempt int) string {
	s.t.Helper()
	s.mu.Lock()
	conn := s.conn
	s.envelope++
	id := fmt.Sprintf("env-%04d-%d", s.envelope, time.Now().UnixNano())
	s.sent[id] = time.Now()
	s.mu.Unlock()
	if conn == nil {
		s.t.Fatalf("slackfake: no Socket Mode connection to send %s on", typ)
	}
	env := map[string]any{"envelope_id": id, "type": typ, "payload": payload, "accepts_response_payload": typ != "events_api", "retry_attempt": retryAttempt, "retry_reason": ""}
	if retryAttempt > 0 {
		env["retry_reason"] = "timeout"
	}
	if err := s.write(conn, env); err != nil {
		s.t.Fatalf("slackfake: sending %s: %v", typ, err)
	}
	return id
}

// Disconnect asks the client to reconnect, as Slack does before it
// refreshes a connection (reason "refresh_requested").
func (s *Server) Disconnect(reason string) {
	s.t.Helper()
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		s.t.Fatal("slackfake: no Socket Mode connection to disconnect")
	}
	_ = s.write(conn, map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "fake-applink"}})
}

// Drop closes the Socket Mode connection without a word, as a network failure would.
func (s *Server) Drop() {
	s.mu.Lock()
	conn := s.conn
	s.conn = nil
	s.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// Acked reports whether an envelope was acknowledged.
func (s *Server) Acked(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.acks[id]
	return ok
}

// WaitAck waits for the acknowledgement of an envelope and returns how long
// it took from sending, and the ack's payload (nil when none).
func (s *Server) WaitAck(id string, timeout time.Duration) (time.Duration, json.RawMessage) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		at, ok := s.acks[id]
		sent := s.sent[id]
		body := s.ackBody[id]
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return at.Sub(sent), body
		}
		left := time.Until(deadline)
		if left <= 0 {
			s.t.Fatalf("slackfake: envelope %s not acknowledged within %v", id, timeout)
		}
		select {
		case <-ch:
		case <-time.After(left):
		}
	}
}
