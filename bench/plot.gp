# The benchmark chart: three panels of clustered bars, one bar per client,
# the median with a min-max error bar. bench/report.py writes the data files
# (per client: median, min, max columns) and passes: out, title, rate_data,
# cost_data, latency_data, groups (throughput workloads), latency_rows, clients,
# colors (one per client, in column order, space-separated).
set terminal svg size 1200,1400 dynamic enhanced font "Helvetica,13" background rgb "white"
set output out
set encoding utf8

set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.95
set datafile missing "-"
set logscale y
set grid ytics mytics lc rgb "#dddddd"
set xtics nomirror scale 0 font ",12"
set ytics nomirror
set key outside right top vertical Left reverse noenhanced

set multiplot layout 3,1 title title font ",15"
# Client i's median, min and max are columns 2+3i, 3+3i, 4+3i.
bars(file) = sprintf("for [i=0:%d] '%s' using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) title columnheader(2+3*i) lc rgb word(colors, i+1)", clients - 1, file)

set xrange [-0.6:groups - 0.4]
set xlabel "workload: QoS, payload per message"
set title "Throughput: one publisher, one subscriber (higher is better; bar: median, whiskers: min to max of the runs)"
set ylabel "messages per second (log scale)"
set format y "%.0s%c"
set yrange [10:*]
eval "plot " . bars(rate_data)

set title "Cost: client CPU per message, user+sys of both clients (lower is better)"
set ylabel "CPU µs per message (log scale)"
set format y "%g"
set yrange [*:*]
eval "plot " . bars(cost_data)

set xrange [-0.6:latency_rows - 0.4]
set xlabel "QoS, percentile of the round trip (64 B ping-pong between two connections)"
set title "Latency: round trip (lower is better; Paho leaves Nagle's algorithm on: no TCP\\_NODELAY option)"
set ylabel "round trip µs (log scale)"
set format y "%.0s%c"
set yrange [10:*]
eval "plot " . bars(latency_data)

unset multiplot
