"""Conversations: `GET/POST /api/sessions`, `GET/DELETE /api/sessions/{id}`.

The caller's own conversations when access control names users; all of them otherwise.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from query.desk.auth import current_user
from query.contract import Answer
from query.desk.links import with_hrefs

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


class SessionSummary(BaseModel):
    session_id: str
    title: str
    created: float
    updated: float
    turns: int


@router.get("")
def list_sessions(request: Request, user: str = Depends(current_user)) -> dict[str, list[SessionSummary]]:
    sessions = request.app.state.desk.sessions
    return {"sessions": [SessionSummary(**s) for s in sessions.list(user=user or None)]}


@router.post("", status_code=201)
def new_session(request: Request, user: str = Depends(current_user)) -> dict:
    return {"session_id": request.app.state.desk.sessions.create(user or None)}


@router.get("/{session_id}")
def get_session(session_id: str, request: Request, user: str = Depends(current_user)) -> dict:
    turns = request.app.state.desk.sessions.turns(session_id, user or None)  # UnknownSession -> 404
    return {"session_id": session_id,
            "turns": [{**t, "result": with_hrefs(Answer.model_validate(t["result"])).contract()} for t in turns]}


@router.delete("/{session_id}")
async def delete_session(session_id: str, request: Request, user: str = Depends(current_user)) -> dict:
    await anyio.to_thread.run_sync(request.app.state.desk.sessions.delete, session_id, user or None)
    return {"deleted": session_id}
