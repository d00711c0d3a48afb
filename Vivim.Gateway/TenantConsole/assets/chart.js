// A small line chart on a canvas: a few series over time, redrawn whole; enough for rates and lags.
const COLORS = ['#0a84ff', '#ff9f0a', '#30d158', '#bf5af2', '#ff453a', '#64d2ff'];

export class LineChart {
  constructor(canvas, { windowMs = 5 * 60_000, label = '' } = {}) {
    this.canvas = canvas;
    this.windowMs = windowMs;
    this.series = new Map();
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', label);
    this.label = label;
  }

  add(name, t, value) {
    if (!this.series.has(name)) this.series.set(name, []);
    const points = this.series.get(name);
    points.push([t, value]);
    while (points.length && points[0][0] < t - this.windowMs) points.shift();
  }

  latest(name) {
    const points = this.series.get(name);
    return points?.length ? points[points.length - 1][1] : undefined;
  }

  draw(now = Date.now()) {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = c.clientWidth || 300;
    const height = c.clientHeight || 160;
    c.width = Math.round(width * ratio);
    c.height = Math.round(height * ratio);
    const g = c.getContext('2d');
    g.scale(ratio, ratio);
    const style = getComputedStyle(document.body);
    const fg = style.color;
    g.clearRect(0, 0, width, height);
    let max = 1;
    for (const points of this.series.values()) for (const [, v] of points) max = Math.max(max, v);
    const pad = { l: 36, r: 8, t: 8, b: 18 };
    const x = (t) => pad.l + ((t - (now - this.windowMs)) / this.windowMs) * (width - pad.l - pad.r);
    const y = (v) => height - pad.b - (v / max) * (height - pad.t - pad.b);
    g.fillStyle = fg;
    g.globalAlpha = 0.7;
    g.font = '11px sans-serif';
    g.fillText(String(Math.round(max)), 4, pad.t + 8);
    g.fillText('0', 4, height - pad.b);
    g.fillText(`last ${Math.round(this.windowMs / 60000)} min`, pad.l, height - 4);
    g.globalAlpha = 1;
    let i = 0;
    const summary = [];
    for (const [name, points] of this.series) {
      g.strokeStyle = COLORS[i++ % COLORS.length];
      g.lineWidth = 2;
      g.beginPath();
      points.forEach(([t, v], k) => (k ? g.lineTo(x(t), y(v)) : g.moveTo(x(t), y(v))));
      g.stroke();
      if (points.length) summary.push(`${name}: ${points[points.length - 1][1]}`);
    }
    this.canvas.setAttribute('aria-label', `${this.label}. ${summary.join(', ') || 'no data yet'}`);
  }
}
