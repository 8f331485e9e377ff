// One ECharts chart in a resizable box. `option` is ECharts' own option object; the chart redraws when it changes.
// Once drawn, the box carries data-drawn="true" (the browser tests and bench/ui wait for it). onZoom reports the x range
// a data zoom (drag or wheel) settled on, so a view can fetch more detail for it.
import type { EChartsCoreOption, EChartsType } from "echarts/core";
import { useEffect, useRef, useState } from "preact/hooks";

export type ChartOption = EChartsCoreOption;

interface Props {
  option: ChartOption;
  height?: number;
  label: string;
  testId?: string;
  onZoom?: (range: { start: number; end: number } | null) => void;
}

export function Chart({ option, height = 300, label, testId, onZoom }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsType | null>(null);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const [error, setError] = useState<string | null>(null);
  const [drawn, setDrawn] = useState(false);

  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | null = null;
    import("./echarts").then(
      ({ echarts }) => {
        if (disposed || !box.current) return;
        const instance = echarts.init(box.current, null, { renderer: "canvas" });
        chart.current = instance;
        instance.on("finished", () => setDrawn(true));
        instance.on("datazoom", () => {
          const zoomed = (instance.getOption() as { dataZoom?: { start?: number; end?: number; startValue?: number; endValue?: number }[] }).dataZoom?.[0];
          if (!zoomed) return;
          const full = (zoomed.start ?? 0) <= 0 && (zoomed.end ?? 100) >= 100;
          zoom.current?.(full || zoomed.startValue === undefined || zoomed.endValue === undefined ? null : { start: zoomed.startValue, end: zoomed.endValue });
        });
        observer = new ResizeObserver(() => instance.resize());
        observer.observe(box.current);
        setDrawn(false);
        instance.setOption(optionRef.current, { notMerge: true });
      },
      (e: Error) => setError(`Could not load the chart library: ${e.message}`),
    );
    return () => {
      disposed = true;
      observer?.disconnect();
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);

  const optionRef = useRef(option);
  optionRef.current = option;
  useEffect(() => {
    if (!chart.current) return;
    setDrawn(false);
    chart.current.setOption(option, { notMerge: true });
  }, [option]);

  if (error) return <p role="alert" class="error">{error}</p>;
  return <div ref={box} class="chart" role="img" aria-label={label} data-testid={testId} data-drawn={drawn ? "true" : undefined} style={{ height: `${height}px` }} />;
}
