// SPDX-License-Identifier: MIT

package main

/*
#include <stdlib.h>
#include "core_abi.h"

// Go calls the application's log handler only through this trampoline.
static inline void call_log(void *fn, int level, const char *event, const char *line, void *ud) {
	((gonice_log_cb)fn)(level, event, line, ud);
}
*/
import "C"

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

// logSink is the handler set with gonice_set_log_handler.
type logSink struct {
	fn   unsafe.Pointer // gonice_log_cb
	ud   unsafe.Pointer
	cats nice.LogCategory
}

// logMu serializes every call of the C log handler in the process (as
// gonice.h promises) and guards logBuf, where records are formatted.
var (
	logMu  sync.Mutex
	logBuf bytes.Buffer
)

// theSink is the process's log handler, nil when none is set: agents and
// connections created while it is set log to it (withLogSink).
var theSink atomic.Pointer[logSink]

//export goniceCoreSetLogHandler
func goniceCoreSetLogHandler(errbuf *C.char, fn, categories, ud unsafe.Pointer) C.int {
	return call(errbuf, func() (int, error) {
		if fn == nil {
			theSink.Store(nil)
			return 0, nil
		}
		cats := nice.LogCategory(0) // zero: GONICE_DEBUG's, else all (nice.Config.LogCategories)
		if categories != nil {
			c, err := nice.ParseLogCategories(C.GoString((*C.char)(categories)))
			if err != nil {
				return 0, err
			}
			if c == 0 {
				// "0", "off": warnings only. A Logger's zero categories mean
				// all, so say none with a handler that drops debug.
				theSink.Store(&logSink{fn: fn, ud: ud, cats: 0})
				return 0, nil
			}
			cats = c
		}
		theSink.Store(&logSink{fn: fn, ud: ud, cats: cats | logSet})
		return 0, nil
	})
}

// logSet marks a sink whose categories were resolved (a bit outside
// nice.LogAll: the agent masks it off).
const logSet nice.LogCategory = 1 << 31

// withLogSink returns cfg logging to the process's log handler, if one is
// set; else cfg as it is (GONICE_DEBUG then sends debug lines to standard
// error).
func withLogSink(cfg nice.Config) nice.Config {
	s := theSink.Load()
	if s == nil {
		return cfg
	}
	h := &cLogHandler{sink: s, debug: s.cats&logSet != 0}
	h.inner = slog.NewTextHandler(&logBuf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // the application stamps lines itself
			}
			return a
		},
	})
	cfg.Logger = slog.New(h)
	cfg.LogCategories = s.cats &^ logSet
	return cfg
}

// cLogHandler formats records as slog text lines (without the time) into
// logBuf and hands each to the C handler, one at a time in the process.
type cLogHandler struct {
	sink  *logSink
	inner slog.Handler // writes into logBuf, under logMu
	debug bool         // debug events wanted (categories not "off")
}

func (h *cLogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.debug
}

func (h *cLogHandler) Handle(ctx context.Context, r slog.Record) (err error) {
	logMu.Lock()
	defer logMu.Unlock()
	defer func() {
		if p := recover(); p != nil { // never a panic into the agent's loop
			err = nil
		}
	}()
	logBuf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	line := bytes.TrimRight(logBuf.Bytes(), "\n")
	cline := C.CString(string(line))
	cevent := C.CString(r.Message)
	C.call_log(h.sink.fn, C.int(r.Level), cevent, cline, h.sink.ud)
	C.free(unsafe.Pointer(cevent))
	C.free(unsafe.Pointer(cline))
	return nil
}

func (h *cLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	d := *h
	d.inner = h.inner.WithAttrs(as)
	return &d
}

func (h *cLogHandler) WithGroup(name string) slog.Handler {
	d := *h
	d.inner = h.inner.WithGroup(name)
	return &d
}
