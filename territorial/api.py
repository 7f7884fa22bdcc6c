from rest_framework.views import APIView


class MunicipalityList(APIView):
    pass


class MunicipalityDetail(APIView):
    pass


class SubregionList(APIView):
    pass


class IndicatorValues(APIView):
    pass


class Locate(APIView):
    pass


class Download(APIView):
    pass
