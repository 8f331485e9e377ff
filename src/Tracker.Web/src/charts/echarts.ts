// The parts of ECharts the UI draws with, loaded on demand (import("./echarts")) so views without charts never fetch
// them. Line charts handle 100k-point metrics with LTTB sampling; scatter and parallel coordinates serve the comparison.
import { LineChart, ParallelChart, ScatterChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, LegendComponent, ParallelComponent, TitleComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([LineChart, ScatterChart, ParallelChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, ParallelComponent, TitleComponent, CanvasRenderer]);

export { echarts };
