//! The generated CustomResourceDefinition.

#[test]
fn crd_prints() {
    let y = ojek_experiments::crd::crd_yaml();
    println!("{y}");
    assert!(y.contains("kind: CustomResourceDefinition"));
}
