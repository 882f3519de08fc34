// Logbook's console: progressive enhancement only. Every page works without this file
// but for live updates.
"use strict";

// Times arrive as UTC; show them in the viewer's zone, UTC stays in the title.
function localTimes(root) {
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  for (const element of root.querySelectorAll("time[datetime]")) {
    const at = new Date(element.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) element.textContent = format.format(at);
  }
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "—" : String(text);
  row.appendChild(td);
  return td;
}

// An event of the live tail as a row of the events table (text only: never markup).
function eventRow(event) {
  const row = document.createElement("tr");
  row.className = "fresh" + (event.success === false ? " failed" : "");
  const first = document.createElement("td");
  const link = document.createElement("a");
  link.href = "/console/events/" + encodeURIComponent(event.id);
  const time = document.createElement("time");
  time.setAttribute("datetime", event.created_at);
  time.title = event.created_at + " UTC";
  time.textContent = event.created_at;
  link.appendChild(time);
  first.appendChild(link);
  row.appendChild(first);
  cell(row, event.event_type);
  cell(row, event.severity);
  cell(row, event.user_id);
  cell(row, event.ip_address);
  const request = [event.http_method, event.request_path].filter(Boolean).join(" ");
  cell(row, request);
  cell(row, event.response_status_code);
  cell(row, event.response_time_ms);
  cell(row, event.message).className = "message";
  localTimes(row);
  return row;
}

function follow(button) {
  const state = document.getElementById("live-state");
  const body = document.querySelector("#events tbody");
  let source = null;
  button.hidden = false;
  button.addEventListener("click", () => {
    if (source) {
      source.close();
      source = null;
      button.textContent = "Follow live";
      state.textContent = "";
      return;
    }
    source = new EventSource(button.dataset.tail);
    button.textContent = "Stop following";
    state.textContent = "Following: new events appear at the top.";
    source.onmessage = (message) => {
      body.insertBefore(eventRow(JSON.parse(message.data)), body.firstChild);
      while (body.rows.length > 500) body.deleteRow(body.rows.length - 1);
    };
    source.addEventListener("missed", (message) => {
      state.textContent = "Too many events to show them all: " + JSON.parse(message.data).missed + " skipped.";
    });
    source.onerror = () => { state.textContent = "Connection lost; retrying…"; };
    source.onopen = () => { state.textContent = "Following: new events appear at the top."; };
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  const button = document.getElementById("follow");
  if (button) follow(button);
  const refresh = document.querySelector("[data-refresh]");
  if (refresh) {
    const seconds = Number(refresh.dataset.refresh);
    if (seconds > 0) setTimeout(() => location.reload(), seconds * 1000);
  }
  // Buttons that change something ask first when they say so.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (e) => { if (!confirm(form.dataset.confirm)) e.preventDefault(); });
  }
});
