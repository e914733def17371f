// The Houndsight dashboard's only script (served from /assets; the Content-Security-Policy
// allows no other). It makes pages live and checks forms before they are sent:
//
// - the queue listens to /events, which sends only what changed: a leash an agent asks for
//   appears without a reload (its card, rendered by the server), a decided or expired one goes
//   away (its id), and the counts follow;
// - the decision forms refuse a rejection without a reason, and a modified payload that is not
//   JSON, with a message, before anything is sent;
// - times are shown in the reader's local time (with the date when it is not today, the full
//   ISO time with the zone on hover), and deadlines count down.
//
// Markup only ever comes from the server, which escapes every agent-supplied string; it is
// parsed with DOMParser (which never runs scripts) and agent text is never put into the page
// any other way.
"use strict"
;(() => {
  const all = (selector, root = document) => Array.from(root.querySelectorAll(selector))

  // ---------------------------------------------------------------------------------------
  // Times
  // ---------------------------------------------------------------------------------------

  const pad = (n) => String(n).padStart(2, "0")

  const localTime = (date) => {
    const now = new Date()
    const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
    const sameDay = date.getFullYear() === now.getFullYear() && date.getMonth() === now.getMonth() &&
      date.getDate() === now.getDate()
    return sameDay ? clock : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock}`
  }

  // The full ISO 8601 time in the reader's zone, with its offset and the zone's name:
  // 2026-11-24T10:00:01.000+01:00 (Europe/Berlin).
  const zoneName = (() => {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone
    } catch {
      return undefined
    }
  })()

  const isoLocal = (date) => {
    const offset = -date.getTimezoneOffset()
    const sign = offset < 0 ? "-" : "+"
    const abs = Math.abs(offset)
    const ms = String(date.getMilliseconds()).padStart(3, "0")
    const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
    const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${ms}`
    const iso = `${day}T${clock}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
    return zoneName === undefined ? iso : `${iso} (${zoneName})`
  }

  const localTimes = (root) => {
    for (const el of all("time[data-local]", root)) {
      const date = new Date(el.getAttribute("datetime"))
      if (Number.isNaN(date.getTime())) continue
      el.textContent = localTime(date)
      el.title = isoLocal(date)
    }
  }

  const duration = (millis) => {
    const s = Math.max(0, Math.floor(millis / 1000))
    if (s < 60) return `${s} s`
    const m = Math.floor(s / 60)
    if (m < 60) return `${m} min ${pad(s % 60)} s`
    const h = Math.floor(m / 60)
    return `${h} h ${pad(m % 60)} min`
  }

  const expire = (card) => {
    if (card === null || card.classList.contains("expired")) return
    card.classList.add("expired")
    for (const control of all("button, input, textarea", card)) control.disabled = true
  }

  const countdowns = () => {
    for (const el of all("[data-countdown]")) {
      const left = Date.parse(el.dataset.countdown) - Date.now()
      el.textContent = left > 0 ? duration(left) : "expired"
      if (left <= 0) expire(el.closest("[data-leash-id]") ?? el.closest(".card"))
    }
    // a leash past its reminder time is marked close to expiry, with the time it has left
    for (const mark of all("[data-soon]")) {
      const card = mark.closest("[data-leash-id]")
      if (card === null || Date.now() < Date.parse(mark.dataset.remindAt)) continue
      const left = Date.parse(card.dataset.expiresAt) - Date.now()
      mark.hidden = left <= 0
      card.classList.add("soon")
      const text = mark.querySelector("[data-soon-text]")
      if (text !== null) text.textContent = `expires in ${duration(Math.max(0, left))}`
    }
  }

  // ---------------------------------------------------------------------------------------
  // Forms
  // ---------------------------------------------------------------------------------------

  const showError = (form, message) => {
    const box = form.querySelector(".form-error")
    if (box === null) return
    box.textContent = message
    box.hidden = false
  }

  const clearError = (form) => {
    const box = form.querySelector(".form-error")
    if (box !== null) box.hidden = true
  }

  document.addEventListener("submit", (event) => {
    const form = event.target
    if (!(form instanceof HTMLFormElement)) return
    clearError(form)
    if (form.matches("[data-decide]")) {
      const reason = form.elements.namedItem("reason")
      if (event.submitter?.value === "rejected" && reason.value.trim() === "") {
        event.preventDefault()
        showError(form, "A rejection needs a reason: the agent receives it and the trail records it.")
        reason.focus()
        return
      }
    }
    if (form.matches("[data-modify]")) {
      const area = form.elements.namedItem("modified_payload")
      try {
        JSON.parse(area.value)
        area.removeAttribute("aria-invalid")
      } catch (error) {
        event.preventDefault()
        area.setAttribute("aria-invalid", "true")
        showError(form, `This is not valid JSON (${error.message}). Nothing was sent: fix it and try again.`)
        area.focus()
        return
      }
    }
    // One decision per click: disable the buttons once the form is on its way (after the
    // browser has read the pressed button's value).
    setTimeout(() => {
      for (const button of all("button", form)) button.disabled = true
    }, 0)
  })

  // ---------------------------------------------------------------------------------------
  // Live view
  // ---------------------------------------------------------------------------------------

  const parse = (markup) => {
    const doc = new DOMParser().parseFromString(`<!doctype html><body>${markup}`, "text/html")
    return Array.from(doc.body.childNodes, (node) => document.adoptNode(node))
  }

  const replaceWith = (container, markup) => {
    const nodes = parse(markup)
    container.replaceChildren(...nodes)
    for (const node of nodes) if (node instanceof Element) localTimes(node)
  }

  const baseTitle = document.title

  const setCounts = (counts) => {
    if (counts === undefined) return
    for (const el of all("[data-pending-count]")) {
      el.textContent = counts.pending.toLocaleString("en-US")
      el.hidden = counts.pending === 0
    }
    for (const el of all("[data-flag-count]")) {
      el.textContent = counts.flags.toLocaleString("en-US")
      el.hidden = counts.flags === 0
    }
    document.title = counts.pending > 0 ? `(${counts.pending}) ${baseTitle}` : baseTitle
  }

  const cards = (list) => all(":scope > [data-leash-id]", list)

  // Cards are kept in the list's order: the closest deadline first, then by id.
  const before = (a, b) => {
    const x = Date.parse(a.dataset.expiresAt)
    const y = Date.parse(b.dataset.expiresAt)
    return x < y || (x === y && a.dataset.leashId < b.dataset.leashId)
  }

  const updatePending = (list, added, removed) => {
    const gone = new Set(removed)
    for (const card of cards(list)) {
      if (gone.has(card.dataset.leashId)) card.remove()
    }
    for (const item of added) {
      if (cards(list).some((c) => c.dataset.leashId === item.id)) continue
      const card = parse(item.html).find((node) => node instanceof Element)
      if (card === undefined) continue
      card.classList.add("arrived")
      localTimes(card)
      const place = cards(list).find((c) => before(card, c)) ?? null
      list.insertBefore(card, place)
    }
    const empty = document.querySelector("[data-empty]")
    if (empty !== null) empty.hidden = cards(list).length > 0
    countdowns()
  }

  let firstFlags

  const onLeashes = (data) => {
    setCounts(data.counts)
    if (firstFlags === undefined && data.counts !== undefined) firstFlags = data.counts.flags
    const list = document.querySelector("[data-pending-list]")
    if (list !== null) updatePending(list, data.added ?? [], data.removed ?? [])
    const decisions = document.querySelector("[data-decisions]")
    if (decisions !== null && data.decisions !== undefined) replaceWith(decisions, data.decisions)
    const leashPage = document.querySelector(".leash-page[data-pending]")
    if (leashPage !== null && (data.removed ?? []).includes(leashPage.dataset.leashId)) {
      // Decided elsewhere, cancelled or expired: the forms are of no use any more.
      const notice = document.querySelector("[data-decided-elsewhere]")
      if (notice !== null) notice.hidden = false
      for (const card of all(".decision-forms")) expire(card.closest(".card"))
    }
  }

  const onTrails = (data) => {
    setCounts(data.counts)
    for (const container of all("[data-trails]")) {
      fetch(`/fragments/trails?${container.dataset.trails}`, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.text() : undefined))
        .then((markup) => {
          if (markup !== undefined) replaceWith(container, markup)
        })
        .catch(() => {})
    }
    const page = document.body.dataset.page
    const changed = page === "trail" || (page === "flags" && data.counts.flags !== firstFlags)
    if (changed) for (const el of all("[data-updated]")) el.hidden = false
  }

  const setStatus = (text, ok) => {
    for (const el of all("[data-live-status]")) {
      el.textContent = text
      el.classList.toggle("off", !ok)
    }
  }

  // The stream is told what this page shows (the queue's cards, or a leash page's own leash), and
  // sends only what changes from there. On an error it is opened anew with what the page shows then.
  const eventsUrl = () => {
    const params = new URLSearchParams()
    const list = document.querySelector("[data-pending-list]")
    if (list !== null) {
      params.set("list", "1")
      params.set("have", cards(list).map((c) => c.dataset.leashId).join(","))
    }
    const leashPage = document.querySelector(".leash-page[data-pending]")
    if (leashPage !== null) params.set("have", leashPage.dataset.leashId)
    const query = params.toString()
    return query === "" ? "/events" : `/events?${query}`
  }

  const connect = () => {
    const source = new EventSource(eventsUrl())
    source.addEventListener("leashes", (event) => onLeashes(JSON.parse(event.data)))
    source.addEventListener("trails", (event) => onTrails(JSON.parse(event.data)))
    source.addEventListener("open", () => {
      setStatus("live", true)
      document.body.dataset.connected = "true"
    })
    source.addEventListener("error", () => {
      setStatus("reconnecting…", false)
      delete document.body.dataset.connected
      source.close()
      setTimeout(connect, 3000)
    })
  }

  const start = () => {
    localTimes(document)
    countdowns()
    setInterval(countdowns, 1000)
    if (document.body.hasAttribute("data-live")) connect()
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start)
  else start()
})()
