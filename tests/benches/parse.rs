//! `parse`: building the HCL and SNP views over the real milan-v2 report, and parsing the
//! runtime-claims JSON separately (target for the views: <= 50 ns, 0 allocations).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hcl_parse::HclReport;
use snp_vtpm_testkit::vectors;

fn parse(c: &mut Criterion) {
    let nv = vectors::read("azure/milan-v2/hcl-report.bin");
    let mut group = c.benchmark_group("parse");
    group.bench_function("hcl+snp views", |b| {
        b.iter(|| {
            let hcl = HclReport::parse(black_box(&nv)).expect("valid report");
            let snp = hcl.snp_report().expect("SNP report");
            black_box((hcl.runtime_claims_bytes().len(), snp.version()))
        })
    });
    let hcl = HclReport::parse(&nv).expect("valid report");
    group.bench_function("runtime claims json", |b| {
        b.iter(|| black_box(hcl.runtime_claims().expect("valid claims").keys().len()))
    });
    group.bench_function("report_data binding (sha-256)", |b| {
        b.iter(|| black_box(hcl.verify_report_data_binding().is_ok()))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
