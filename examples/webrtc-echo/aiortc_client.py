# SPDX-License-Identifier: MIT
"""aiortc as a WHIP client of webrtc-echo: offers audio and video (aiortc's
generated silence and frames), POSTs the offer to URL/whip, takes the
answer, and counts what comes back decoded. Prints one JSON line:
{"ok": bool, "audio": frames, "video": frames, "error": str}.

usage: python3 aiortc_client.py URL [seconds]
"""
import asyncio
import json
import sys
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack


def http(method, url, body=None, ctype=None):
    req = urllib.request.Request(url, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers.get("Location"), resp.read().decode()


async def main(base, seconds):
    result = {"ok": False, "audio": 0, "video": 0}
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    done = asyncio.Event()

    async def consume(track):
        try:
            while True:
                await track.recv()  # a decoded frame
                result[track.kind] += 1
                if result["audio"] > 0 and result["video"] > 0:
                    done.set()
        except MediaStreamError:
            pass

    pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
    loop = asyncio.get_running_loop()
    try:
        await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate
        status, location, answer = await loop.run_in_executor(
            None, http, "POST", base + "/whip", pc.localDescription.sdp.encode(), "application/sdp")
        if status != 201:
            raise RuntimeError("POST /whip: %d %s" % (status, answer))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        try:
            await asyncio.wait_for(done.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        result["ok"] = result["audio"] > 0 and result["video"] > 0
        await loop.run_in_executor(None, http, "DELETE", base + location)
    except Exception as e:  # reported, not raised: the caller reads the JSON
        result["error"] = repr(e)
    finally:
        await pc.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1].rstrip("/"), float(sys.argv[2]) if len(sys.argv) > 2 else 15))
