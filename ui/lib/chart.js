// Charts are drawn by uPlot, served by the gateway (its versioned URL is on
// the app's script tag) and loaded on first use.

const url = document.querySelector('script[data-uplot]')?.dataset.uplot
let loading
const loadUPlot = () => (loading ??= import(url).then((m) => m.default))

const COLORS = ['#0b5cad', '#b42318', '#1a7f37', '#9a6700']

function pad(xs, min, max) {
  const half = xs.length > 1 ? (xs[1] - xs[0]) / 2 : 43_200
  return [min - half, max + half]
}

/**
 * A chart that fills its container's width and follows it when it changes.
 * series: [{ label, dash? }]; data: [x (Unix seconds), ...one array per series]
 * (null = no value: a gap). bars: draw bars instead of lines.
 */
export async function chart(container, { series, format, height = 190, bars = false }, data) {
  const uPlot = await loadUPlot()
  const width = () => Math.max(160, Math.floor(container.getBoundingClientRect().width))
  const plot = new uPlot(
    {
      width: width(),
      height,
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          dash: s.dash,
          value: (_u, v) => (v === null || v === undefined ? '–' : format(v)),
          ...(bars ? { fill: `${COLORS[i % COLORS.length]}88`, paths: uPlot.paths.bars({ size: [0.6, 48] }), points: { show: false } } : {}),
        })),
      ],
      axes: [{}, { size: 64, values: (_u, ticks) => ticks.map(format) }],
      scales: {
        // Bars need half a step of room at each end.
        ...(bars ? { x: { time: true, range: (u, min, max) => pad(u.data[0], min, max) } } : {}),
        // Figures start at zero; an empty chart still has a scale.
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      },
    },
    data,
    container,
  )
  const resize = new ResizeObserver(() => plot.setSize({ width: width(), height }))
  resize.observe(container)
  return {
    update: (next) => plot.setData(next),
    destroy() {
      resize.disconnect()
      plot.destroy()
    },
  }
}
