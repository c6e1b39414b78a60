(function () {
  "use strict";
  // The report's time slider, Play (with the alarms' repeating tones), one real minute,
  // previous/next key moment, and the quiz. Every timing comes from animation-frame timestamps
  // or timers: nothing here steps the scenario itself, it only reads the embedded state table.
  var data = JSON.parse(document.getElementById("state-data").textContent);
  var rows = data.rows;
  var n = rows.t_h.length;
  var $ = function (id) { return document.getElementById(id); };
  var panel = $("slider-panel"), slider = $("slider"), cursor = $("cursor");
  var playButton = $("play"), minuteButton = $("minute"), stage = $("stage");
  var figure = document.querySelector(".figure");
  var figureBox = document.querySelector(".figure-box");
  var source = {
    critical: document.querySelector("audio.tone-critical"),
    non_critical: document.querySelector("audio.tone-non_critical")
  };
  var players = {};

  function text(id, value) { $(id).textContent = value; }
  function ml(v) { return v.toFixed(2) + " mL"; }
  function active(a, t) { return a.start_h <= t && (a.end_h === null || t < a.end_h || t === a.start_h); }
  function current() { return rows.t_h[Number(slider.value)]; }

  function flagText(f, t) {
    if (f.silent) {
      if (f.critical_from_h !== null && t >= f.critical_from_h) {
        return f.label + " (silent at onset; critical alarm from " + f.critical_from + ")";
      }
      return f.label + " (silent: no critical alarm)";
    }
    return f.label + (f.alarmed ? " (alarmed at onset)" : "");
  }

  function momentsAt(t) {
    return data.moments.filter(function (m) { return Math.abs(m.t_h - t) < 1e-6; });
  }

  function show(i) {
    var t = rows.t_h[i];
    slider.value = String(i);
    slider.setAttribute("aria-valuetext", rows.when[i]);
    text("st-when", rows.when[i]);
    text("st-est", ml(rows.est[i]));
    text("st-true", ml(rows["true"][i]));
    var mode = $("st-mode");
    mode.textContent = data.modes[rows.mode[i]];
    mode.className = rows.mode[i] < 3 ? "alert" : "";
    var cath = $("st-cath");
    cath.textContent = rows.cath[i] ? rows.cath[i] + " (undetected)" : "intact";
    cath.className = rows.cath[i] ? "alert" : "";
    var ratio = $("st-ratio");
    var r = rows.ratio[i];
    ratio.textContent = r === null ? "n/a" : r.toFixed(2);
    ratio.className = r !== null && r < data.threshold ? "alert" : "";
    var names = rows.alarms[i].map(function (k) {
      return data.alarms[k].label + " (" + data.alarms[k].priority.replace("_", "-") + ")";
    });
    var al = $("st-alarms");
    al.textContent = names.length ? names.join(", ") : "none";
    al.className = names.length ? "alert" : "";
    var fl = $("st-flags");
    var flags = rows.flags[i].map(function (k) { return flagText(data.flags[k], t); });
    fl.textContent = flags.length ? flags.join(", ") : "none";
    fl.className = flags.length ? "alert" : "";
    var here = momentsAt(t).map(function (m) { return m.text; });
    text("st-moment", here.length ? here.join("; ") : "\u2014");
    var ax = data.axis;
    var frac = ax.x0 + (ax.x1 - ax.x0) * (t - ax.t0_h) / (ax.t1_h - ax.t0_h);
    cursor.style.left = (100 * frac).toFixed(3) + "%";
    cursor.style.top = (100 * (1 - ax.y1)).toFixed(3) + "%";
    cursor.style.bottom = (100 * ax.y0).toFixed(3) + "%";
    cursor.style.display = "block";
    if (figureBox.scrollWidth > figureBox.clientWidth + 1) {  // a phone: keep the cursor in view
      figureBox.scrollLeft = Math.max(0, frac * figureBox.scrollWidth - figureBox.clientWidth / 2);
    }
  }

  function rowAt(t) {
    var lo = 0, hi = n - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (rows.t_h[mid] <= t + 1e-6) { lo = mid; } else { hi = mid - 1; }
    }
    return lo;
  }

  // ---- sound: one player per alarm, cloned from the embedded tone of its priority ----
  function playTone(k) {
    var a = data.alarms[k];
    if (!source[a.priority]) { return; }
    if (!players[k]) { players[k] = source[a.priority].cloneNode(true); }
    var p = players[k];
    p.currentTime = 0;
    var promise = p.play();
    if (promise && promise["catch"]) { promise["catch"](function () { return null; }); }
  }
  function silence() {
    Object.keys(players).forEach(function (k) { players[k].pause(); });
  }

  // ---- Play: the whole scenario in data.sound.sweep_s seconds; each sounding alarm repeats
  // its tone every cycle_s (the silence between repeats compressed); a pause at each alarm
  // start long enough to hear the tone twice ----
  var playing = false, virtualT = 0, lastFrame = null, clock = 0, holdUntil = 0;
  var due = {};
  function soundTick(t) {
    data.alarms.forEach(function (a, k) {
      if (!active(a, t)) { delete due[k]; return; }
      if (!(k in due)) { due[k] = clock; }
      if (clock >= due[k]) {
        playTone(k);
        due[k] = Math.max(due[k] + a.cycle_s, clock);
      }
    });
  }
  function alarmStartsIn(fromT, toT) {
    return data.alarms.filter(function (a) { return a.start_h > fromT && a.start_h <= toT; });
  }

  var quiz = data.quiz, stopIndex = 0, questionIndex = 0, score = 0, asked = 0;
  function nextStop() { return quiz && stopIndex < quiz.length ? quiz[stopIndex] : null; }

  function frame(now) {
    if (!playing) { return; }
    if (lastFrame === null) { lastFrame = now; }
    var dt = Math.max(0, (now - lastFrame) / 1000);
    lastFrame = now;
    clock += dt;
    if (clock < holdUntil) {
      soundTick(virtualT);
      window.requestAnimationFrame(frame);
      return;
    }
    var before = virtualT;
    virtualT = Math.min(data.duration_h, virtualT + dt * data.duration_h / data.sound.sweep_s);
    var stop = nextStop();
    if (stop && stop.t_h <= virtualT) {
      virtualT = stop.t_h;
      show(rowAt(virtualT));
      pause();
      alarmStartsIn(before, virtualT).forEach(function (a) { playTone(data.alarms.indexOf(a)); });
      ask();
      return;
    }
    var starts = quiz ? [] : alarmStartsIn(before, virtualT);
    if (starts.length) {
      virtualT = starts[0].start_h;
      holdUntil = clock + starts[0].cycle_s + starts[0].tone_s;
      text("status", "Hearing the " + starts[0].marker + " repeat (compressed)");
    } else if (clock >= holdUntil) {
      text("status", "");
    }
    show(rowAt(virtualT));
    soundTick(virtualT);
    if (virtualT >= data.duration_h) { pause(); finish(); return; }
    window.requestAnimationFrame(frame);
  }
  function pause() {
    playing = false;
    silence();
    playButton.textContent = quiz ? "\u25B6 play the quiz" : "\u25B6 play";
    playButton.setAttribute("aria-pressed", "false");
  }
  function play() {
    stopMinute();
    virtualT = current();
    if (virtualT >= data.duration_h) { virtualT = 0; restartQuiz(); show(0); }
    while (quiz && nextStop() && nextStop().t_h < virtualT - 1e-9) { stopIndex += 1; }
    playing = true;
    lastFrame = null;
    due = {};
    holdUntil = clock;
    playButton.textContent = "\u275A\u275A pause";
    playButton.setAttribute("aria-pressed", "true");
    $("quiz").hidden = true;
    window.requestAnimationFrame(frame);
  }
  playButton.addEventListener("click", function () { if (playing) { pause(); } else { play(); } });

  // ---- previous / next key moment ----
  function jump(direction) {
    pause();
    var t = current();
    var times = data.moments.map(function (m) { return m.t_h; });
    var target = null;
    times.forEach(function (m) {
      if (direction > 0 && m > t + 1e-6 && (target === null || m < target)) { target = m; }
      if (direction < 0 && m < t - 1e-6 && (target === null || m > target)) { target = m; }
    });
    if (target === null) {
      text("status", direction > 0 ? "No key moment after this one." : "No key moment before this one.");
      return;
    }
    text("status", "");
    show(rowAt(target));
  }
  $("prev").addEventListener("click", function () { jump(-1); });
  $("next").addEventListener("click", function () { jump(1); });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var tag = e.target && e.target.tagName;
    if (tag === "BUTTON" || tag === "AUDIO" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (tag === "INPUT" && e.target !== slider) { return; }
    if (e.key === "n" || e.key === "N") { jump(1); e.preventDefault(); }
    else if (e.key === "p" || e.key === "P") { jump(-1); e.preventDefault(); }
    else if (e.key === " " && e.target !== slider) { playButton.click(); e.preventDefault(); }
  });

  // ---- one real minute: the sounding alarms' tones at their true pace ----
  var minuteTimers = [], minuteEnd = null;
  function stopMinute() {
    minuteTimers.forEach(function (h) { window.clearTimeout(h); window.clearInterval(h); });
    minuteTimers = [];
    if (minuteEnd !== null) { silence(); }
    minuteEnd = null;
    minuteButton.textContent = "\u266A one real minute";
    minuteButton.setAttribute("aria-pressed", "false");
  }
  function realMinute() {
    if (minuteEnd !== null) { stopMinute(); text("status", "Stopped."); return; }
    pause();
    var t = current();
    var sounding = [];
    data.alarms.forEach(function (a, k) { if (active(a, t)) { sounding.push(k); } });
    if (!sounding.length) {
      text("status", "No alarm sounds at " + rows.when[Number(slider.value)] + ": there is nothing to hear.");
      return;
    }
    // the minute starts at the latest tone at or before the slider, so it begins with a tone
    var start = -Infinity;
    sounding.forEach(function (k) {
      var a = data.alarms[k];
      start = Math.max(start, a.start_h + Math.floor((t - a.start_h) / a.interval_h + 1e-9) * a.interval_h);
    });
    var count = 0, next = [];
    sounding.forEach(function (k) {
      var a = data.alarms[k];
      var first = Math.ceil((start - a.start_h) / a.interval_h - 1e-9);
      for (var j = first; ; j += 1) {
        var tt = a.start_h + j * a.interval_h;
        if (a.end_h !== null && tt >= a.end_h) { break; }
        if (tt >= start + 1 / 60) { next.push(a.label + " again after " + Math.round((tt - start) * 60) + " min"); break; }
        count += 1;
        minuteTimers.push(window.setTimeout(playTone.bind(null, k), (tt - start) * 3600 * 1000));
      }
    });
    minuteEnd = Date.now() + data.sound.real_minute_s * 1000;
    minuteButton.textContent = "\u25A0 stop the minute";
    minuteButton.setAttribute("aria-pressed", "true");
    var words = "One real minute from " + wordsAt(start) + ": " + count +
      (count === 1 ? " tone" : " tones") + ", then silence" + (next.length ? " (" + next.join("; ") + ")" : "") + ".";
    text("status", words);
    minuteTimers.push(window.setTimeout(function () {
      stopMinute();
      text("status", words + " The minute is over.");
    }, data.sound.real_minute_s * 1000));
  }
  function wordsAt(h) {  // a wall-clock date-time on the scenario's clock
    var d = new Date(data.start_wall_ms + Math.round(h * 3600) * 1000);
    var two = function (v) { return (v < 10 ? "0" : "") + v; };
    return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) +
      " " + two(d.getUTCHours()) + ":" + two(d.getUTCMinutes());
  }
  minuteButton.addEventListener("click", realMinute);

  // ---- the quiz: Play stops at each alarm and flag start and asks two questions ----
  function ask() {
    var stop = nextStop();
    var q = stop.questions[questionIndex];
    $("quiz").hidden = false;
    text("quiz-prompt", stop.prompt);
    text("quiz-ask", q.ask);
    text("quiz-feedback", "");
    var box = $("quiz-choices");
    box.textContent = "";
    q.choices.forEach(function (choice, c) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "choice";
      b.textContent = choice;
      b.addEventListener("click", function () { answer(c); });
      box.appendChild(b);
    });
    $("quiz-continue").hidden = true;
    resize();
    box.firstChild.focus();
  }
  function answer(c) {
    var q = nextStop().questions[questionIndex];
    var buttons = $("quiz-choices").querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b, j) {
      b.disabled = true;
      if (j === q.answer) { b.className = "choice right"; }
      else if (j === c) { b.className = "choice wrong"; }
      else { b.className = "choice other"; }
    });
    asked += 1;
    if (c === q.answer) { score += 1; }
    text("quiz-feedback", (c === q.answer ? "Right. " : "Not quite: the answer is \u201C" + q.choices[q.answer] + "\u201D ") + q.explanation);
    text("quiz-score", "Score: " + score + " of " + asked);
    var more = questionIndex + 1 < nextStop().questions.length;
    $("quiz-continue").textContent = more ? "next question" : "continue \u25B6";
    $("quiz-continue").hidden = false;
    $("quiz-continue").focus();
    resize();
  }
  $("quiz-continue").addEventListener("click", function () {
    questionIndex += 1;
    if (questionIndex < nextStop().questions.length) { ask(); return; }
    questionIndex = 0;
    stopIndex += 1;
    play();
  });
  function finish() {
    if (!quiz) { return; }
    $("quiz").hidden = false;
    text("quiz-prompt", "The end of the scenario.");
    text("quiz-ask", "");
    $("quiz-choices").textContent = "";
    $("quiz-continue").hidden = true;
    text("quiz-feedback", quiz.length ? "Final score: " + score + " of " + asked + "." : "This scenario raises no alarm and no flag: there was nothing to ask.");
    text("quiz-score", "Score: " + score + " of " + asked);
    resize();
  }
  function restartQuiz() { stopIndex = 0; questionIndex = 0; score = 0; asked = 0; text("quiz-score", ""); }

  // ---- layout: the figure shrinks so that it and the panel fit one screen together ----
  function resize() {
    var above = figure.getBoundingClientRect().top - stage.getBoundingClientRect().top;
    document.documentElement.style.setProperty("--panel-h", Math.ceil(above + 12) + "px");
  }
  slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
  slider.max = String(n - 1);
  panel.hidden = false;
  if (quiz) { playButton.textContent = "\u25B6 play the quiz"; }
  show(0);
  resize();
  window.addEventListener("resize", resize);
  if (window.ResizeObserver) { new window.ResizeObserver(resize).observe(panel); }
})();
