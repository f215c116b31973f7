from tests.factories import ProductionReadyUseCaseFactory


def test_factory_builds_use_case_with_kpi(db):
    use_case = ProductionReadyUseCaseFactory()
    assert use_case.kpis.get().target is not None
