"""The structured answer as plain text/markdown, for chat clients that only show text (OpenAI facade)."""

from __future__ import annotations

from evorec.agent import Recommendations


def answer_text(answer: Recommendations) -> str:
    head = (answer.message or "").strip()
    rest = answer_body(answer)
    return (f"{head}\n\n{rest}" if head else rest).strip() + "\n"


def answer_body(answer: Recommendations) -> str:
    """Everything after the free-text message: summary, the ranked list with rationales, notes."""
    lines: list[str] = []
    if answer.interest_summary:
        lines += [answer.interest_summary.strip(), ""]
    if answer.items:
        who = "a new user (cold start)" if answer.cold_start else f"user {answer.user_id}"
        lines.append(f"Top {len(answer.items)} for {who}:")
        for it in answer.items:
            year = f" ({it.year})" if it.year else ""
            cats = f" [{', '.join(it.categories)}]" if it.categories else ""
            lines.append(f"{it.rank}. {it.title}{year}{cats}: {it.rationale.text.strip()}")
            if it.rationale.evidence_ids:
                lines.append(f"   evidence: {', '.join(it.rationale.evidence_ids)}")
    elif not answer.message:
        lines.append("No items match these constraints.")
    if answer.shortfall:
        lines += ["", f"Note: {answer.shortfall}"]
    if answer.degraded:
        reason = f" ({answer.degraded_reason})" if answer.degraded_reason else ""
        lines += ["", f"_Answered without the LLM{reason}._"]
    return "\n".join(lines).strip()
