// SPDX-License-Identifier: MIT

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// browser is one headless Chromium driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: it reads commands on fd 3 and writes on
// fd 4, JSON messages ended by a NUL byte), with one tab that the harness
// navigates to each session's page; so the browser starts once, and every
// session is a new page with a new RTCPeerConnection.
type browser struct {
	cmd      *exec.Cmd
	tmp      string
	toChrome *os.File
	stderr   syncBuf
	tab      string // the tab's CDP session id

	mu    sync.Mutex
	next  int
	calls map[int]chan cdpReply
	gone  chan struct{} // closed when the pipe from Chromium ends
}

type cdpReply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// startBrowser starts Chromium with the flags of examples/webrtc-echo's
// test (fake camera and microphone, loopback ICE allowed) and opens a tab.
func startBrowser(path string) (*browser, error) {
	tmp, err := os.MkdirTemp("", "nicebench-chromium-")
	if err != nil {
		return nil, err
	}
	b := &browser{tmp: tmp, calls: map[int]chan cdpReply{}, gone: make(chan struct{})}
	cmdR, cmdW, err := os.Pipe() // harness → Chromium (its fd 3)
	if err != nil {
		return nil, err
	}
	evR, evW, err := os.Pipe() // Chromium → harness (its fd 4)
	if err != nil {
		return nil, err
	}
	b.cmd = exec.Command(path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
		"--remote-debugging-pipe", "--user-data-dir="+filepath.Join(tmp, "profile"), "about:blank")
	b.cmd.Env = append(os.Environ(), "TMPDIR="+tmp) // where it leaves its singleton socket
	b.cmd.ExtraFiles = []*os.File{cmdR, evW}
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers in one group, waited for at close
	b.cmd.Stderr = &b.stderr
	if err := b.cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	cmdR.Close()
	evW.Close()
	b.toChrome = cmdW
	go b.read(evR) // the pipe's reader; ends when Chromium closes its end
	target, err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err == nil {
		var t struct{ TargetID string }
		_ = json.Unmarshal(target, &t)
		var att json.RawMessage
		att, err = b.call("", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true})
		var s struct{ SessionID string }
		_ = json.Unmarshal(att, &s)
		b.tab = s.SessionID
	}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("chromium: %v\n%s", err, b.stderr.String())
	}
	return b, nil
}

// read routes replies to their calls; events are dropped (no domain is
// enabled, so there are few).
func (b *browser) read(r *os.File) {
	defer close(b.gone)
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var rep cdpReply
		if json.Unmarshal(msg[:len(msg)-1], &rep) != nil || rep.ID == 0 {
			continue
		}
		b.mu.Lock()
		ch := b.calls[rep.ID]
		delete(b.calls, rep.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

// call sends a command (to the browser, or to a tab's session) and waits
// for its reply.
func (b *browser) call(session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpReply, 1)
	b.calls[id] = ch
	b.mu.Unlock()
	m := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		m["sessionId"] = session
	}
	msg, _ := json.Marshal(m)
	if _, err := b.toChrome.Write(append(msg, 0)); err != nil {
		return nil, err
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, rep.Error.Message)
		}
		return rep.Result, nil
	case <-b.gone:
		return nil, fmt.Errorf("%s: Chromium went away", method)
	case <-time.After(20 * time.Second):
		return nil, fmt.Errorf("%s: no reply in 20 s", method)
	}
}

// navigate points the tab at url.
func (b *browser) navigate(url string) error {
	_, err := b.call(b.tab, "Page.navigate", map[string]any{"url": url})
	return err
}

// close ends Chromium and its helpers and removes its directory
// (chromium.md §6: helpers outlive the browser by some milliseconds).
func (b *browser) close() {
	if b.toChrome != nil {
		done := make(chan struct{})
		go func() { // Browser.close's reply may never come: Chromium exits
			_, _ = b.call("", "Browser.close", nil)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
		}
	}
	exited := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}
	for i := 0; i < 150 && groupAlive(b.cmd.Process.Pid); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	if b.toChrome != nil {
		b.toChrome.Close()
	}
	os.RemoveAll(b.tmp)
}

// groupAlive reports whether a process of group pgid is alive (not a
// zombie: orphans are reaped late).
func groupAlive(pgid int) bool {
	dirs, _ := os.ReadDir("/proc")
	want := strconv.Itoa(pgid)
	for _, d := range dirs {
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:])) // state, ppid, pgrp, …
		if len(f) > 2 && f[2] == want && f[0] != "Z" {
			return true
		}
	}
	return false
}

// syncBuf is a buffer written by one goroutine and read by another.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
